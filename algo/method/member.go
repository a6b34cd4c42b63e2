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
	if d == nil {
		d = m.Data
	}
	dim := m.Model.Dim()
	x1 := st.NextPoint(c.LR)
	grad := make([]float64, dim)
	if plan.Full {
		m.Model.Grad(x1, d, nil, grad)
		return compress.Dense(grad)
	}
	rows := Minibatch(seed, plan.Round, m.Index, d.Rows(), c.Batch)
	m.Model.Grad(x1, d, rows, grad)
	if c.Variant == VariantMarinaPP {
		old := make([]float64, dim)
		m.Model.Grad(st.X, d, rows, old)
		vec.Sub(grad, grad, old)
		return c.Compressor.Compress(grad, rng.New(seed, plan.Round, rng.Compress, uint64(m.Index)))
	}
	// Momentum variants: m_i ← β m_i + (1−β) ∇f_i(x^{k+1}; batch).
	if m.Momentum == nil {
		m.Momentum = make([]float64, dim)
	}
	vec.Scale(c.Momentum, m.Momentum)
	vec.Axpy(1-c.Momentum, grad, m.Momentum)
	return compress.Dense(vec.Clone(m.Momentum))
}
