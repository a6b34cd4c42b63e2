package method

import (
	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/model"
	"github.com/byzpp/byzpp/algo/rng"
	"github.com/byzpp/byzpp/algo/vec"
)

// Member is one participant's local view: its data shard and, for the momentum variants, its local
// momentum (which is private to the member, not agreed state).
type Member struct {
	Index    int
	Model    model.Model
	Data     *data.Dataset
	Momentum []float64
	// Packed, if set, is model.Pack(Data): minibatch gradients on Data then read their rows from it
	// (the same bits, fewer cache misses).
	Packed *model.Packed
}

// Minibatch returns the rows member i uses in round k: b rows drawn without replacement (all rows if
// the shard is smaller), the same at both points of the difference.
func Minibatch(seed, k uint64, member, rows, b int) []int {
	return rng.Sample(rng.New(seed, k, rng.Minibatch, uint64(member)), rows, b)
}

// HonestMessage computes what an honest member sends in a round it is sampled for. It advances the
// member's momentum for the sgdm variants. The data set given may differ from m.Data (the label-flip
// attack computes "honestly" on flipped labels).
func (m *Member) HonestMessage(c *Config, seed uint64, st *State, plan Plan, d *data.Dataset) compress.Vector {
	return m.HonestMessageInto(c, seed, st, nil, plan, d, nil)
}

// MessageScratch holds the buffers of a member's messages, reused from round to round. The zero value
// is ready; it is not safe for concurrent use.
type MessageScratch struct {
	stream          rng.Stream
	rows            []int
	x1, grad, other []float64
}

// HonestMessageInto is HonestMessage (the same vector, bit for bit) with x1 = st.NextPoint(c.LR) given
// by the caller (nil: computed here) and buffers taken from s (nil: allocated). A vector computed in s
// may share its memory with s: it is valid until the next call with s.
func (m *Member) HonestMessageInto(c *Config, seed uint64, st *State, x1 []float64, plan Plan, d *data.Dataset, s *MessageScratch) compress.Vector {
	if d == nil {
		d = m.Data
	}
	if s == nil {
		s = &MessageScratch{}
	}
	dim := m.Model.Dim()
	if x1 == nil {
		s.x1 = st.NextPointInto(s.x1, c.LR)
		x1 = s.x1
	}
	grad := grow(&s.grad, dim)
	if plan.Full {
		m.Model.Grad(x1, d, nil, grad)
		return compress.Dense(grad)
	}
	if c.Batch <= 256 {
		s.rows = s.stream.SampleInto(s.rows, seed, plan.Round, rng.Minibatch, uint64(m.Index), d.Rows(), c.Batch)
	} else {
		s.rows = Minibatch(seed, plan.Round, m.Index, d.Rows(), c.Batch)
	}
	rows := s.rows
	if c.Variant == VariantMarinaPP {
		old := grow(&s.other, dim)
		lr, isLogReg := m.Model.(*model.LogReg)
		if isLogReg && m.Packed != nil && m.Packed.Dataset() == d {
			lr.GradPairPacked(x1, st.X, m.Packed, rows, grad, old)
		} else if pair, ok := m.Model.(model.PairGrader); ok {
			pair.GradPair(x1, st.X, d, rows, grad, old)
		} else {
			m.Model.Grad(x1, d, rows, grad)
			m.Model.Grad(st.X, d, rows, old)
		}
		vec.Sub(grad, grad, old)
		if compress.IsIdentity(c.Compressor) {
			return compress.Dense(grad) // what identity's Compress returns, without its copy
		}
		return c.Compressor.Compress(grad, s.stream.Reset(seed, plan.Round, rng.Compress, uint64(m.Index)))
	}
	m.Model.Grad(x1, d, rows, grad)
	// Momentum variants: m_i ← β m_i + (1−β) ∇f_i(x^{k+1}; batch).
	if m.Momentum == nil {
		m.Momentum = make([]float64, dim)
	}
	vec.Scale(c.Momentum, m.Momentum)
	vec.Axpy(1-c.Momentum, grad, m.Momentum)
	return compress.Dense(vec.Clone(m.Momentum))
}

// grow returns (*b)[:n], reallocating *b when it is too short.
func grow(b *[]float64, n int) []float64 {
	if cap(*b) < n {
		*b = make([]float64, n)
	}
	*b = (*b)[:n]
	return *b
}
