package method

import (
	"errors"
	"fmt"
	"math"

	"github.com/byzpp/byzpp/algo/agg"
	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/rng"
	"github.com/byzpp/byzpp/algo/vec"
)

// Sentinel errors of Step: a proposal whose messages trip one of these is invalid.
var (
	ErrNotSampled = errors.New("message from a member outside the round's sample")
	ErrDuplicate  = errors.New("two messages from the same member, or messages not sorted by member")
	ErrMessage    = errors.New("malformed message")
	ErrState      = errors.New("state does not match the round")
)

// Message is what one member contributed to a round.
type Message struct {
	Member int
	Vec    compress.Vector
}

// Outcome reports what Step did, for logs and metrics.
type Outcome struct {
	Full     bool
	Included int
	Clipped  int     // messages whose norm exceeded τ
	Tau      float64 // clipping threshold (+Inf when not clipping)
}

// Step applies round st.Round to st with the messages included in it and returns the next state.
// msgs must be sorted by member, at most one per member, every member in the round's sample, each a
// well-formed finite vector of the model's dimension; otherwise Step returns an error and no state.
// With no messages the estimate g is kept. Step does not modify st or msgs.
func Step(c *Config, seed uint64, st *State, msgs []Message) (*State, Outcome, error) {
	return step(c, seed, st, msgs, nil)
}

// Workspace holds the buffers of a participant's rounds, so that stepping round after round
// allocates nothing once they have grown (with the aggregators that support it, agg.IntoAggregator).
// The zero value is ready; a Workspace is not safe for concurrent use.
type Workspace struct {
	stream rng.Stream
	sample []int
	states [2]State
	inputs [][]float64
	dense  []float64
	delta  []float64
	agg    agg.Scratch
}

// Step is method.Step computed in ws: the same result, bit for bit, but the returned state's X and G
// live in ws and are overwritten by the call after next (the state returned by the previous call may be
// passed in as st).
func (ws *Workspace) Step(c *Config, seed uint64, st *State, msgs []Message) (*State, Outcome, error) {
	return step(c, seed, st, msgs, ws)
}

// step is Step, allocating its buffers when ws is nil and reusing ws's otherwise.
func step(c *Config, seed uint64, st *State, msgs []Message, ws *Workspace) (*State, Outcome, error) {
	var plan Plan
	if ws == nil {
		plan = c.PlanRound(seed, st.Round)
	} else {
		plan = c.PlanRoundInto(seed, st.Round, ws.sample, &ws.stream)
		ws.sample = plan.Sample
	}
	dim := len(st.X)
	if len(st.G) != dim {
		return nil, Outcome{}, fmt.Errorf("%w: len(g) = %d, len(x) = %d", ErrState, len(st.G), dim)
	}
	var inputs [][]float64
	if ws == nil {
		inputs = make([][]float64, len(msgs))
	} else {
		if cap(ws.inputs) < len(msgs) {
			ws.inputs = make([][]float64, len(msgs))
		}
		inputs = ws.inputs[:len(msgs)]
		if cap(ws.dense) < len(msgs)*dim {
			ws.dense = make([]float64, len(msgs)*dim)
		}
	}
	for i, m := range msgs {
		if i > 0 && m.Member <= msgs[i-1].Member {
			return nil, Outcome{}, fmt.Errorf("%w: member %d after member %d", ErrDuplicate, m.Member, msgs[i-1].Member)
		}
		if !plan.Contains(m.Member) {
			return nil, Outcome{}, fmt.Errorf("%w: member %d in round %d", ErrNotSampled, m.Member, st.Round)
		}
		if err := m.Vec.Validate(dim); err != nil {
			return nil, Outcome{}, fmt.Errorf("%w from member %d: %w", ErrMessage, m.Member, err)
		}
		if ws == nil {
			inputs[i] = m.Vec.ToDense()
		} else {
			v := ws.dense[i*dim : (i+1)*dim : (i+1)*dim]
			clear(v) // then v = 0 + message, exactly what ToDense computes
			m.Vec.AddTo(v)
			inputs[i] = v
		}
	}
	var next *State
	if ws == nil {
		next = &State{Round: st.Round + 1, X: st.NextPoint(c.LR), G: vec.Clone(st.G)}
	} else {
		next = &ws.states[0]
		if next == st || (len(next.X) > 0 && len(st.X) > 0 && &next.X[0] == &st.X[0]) {
			next = &ws.states[1]
		}
		next.Round = st.Round + 1
		next.X = st.NextPointInto(next.X, c.LR)
		next.G = append(next.G[:0], st.G...)
	}
	x1 := next.X
	out := Outcome{Full: plan.Full, Included: len(msgs), Tau: math.Inf(1)}
	if len(inputs) == 0 {
		return next, out, nil
	}
	ctx := agg.Context{Byzantine: c.Byzantine}
	if ws == nil {
		ctx.Rand = rng.New(seed, st.Round, rng.Bucket, 0)
	} else {
		ctx.Rand = ws.stream.Reset(seed, st.Round, rng.Bucket, 0)
	}
	aggregate := func(dst []float64) ([]float64, error) {
		if ws == nil {
			return c.Aggregator.Aggregate(inputs, ctx)
		}
		if cap(dst) < dim {
			dst = make([]float64, dim)
		}
		dst = dst[:dim]
		return dst, agg.AggregateInto(c.Aggregator, dst, inputs, ctx, &ws.agg)
	}
	differences := !plan.Full && c.Variant != VariantSGDM
	if !differences {
		// Full round (or plain robust momentum SGD): g^{k+1} = ARAgg(m_i). Centered clipping starts
		// from the agreed g^k.
		ctx.Center = st.G
		g, err := aggregate(next.G)
		if err != nil {
			return nil, Outcome{}, fmt.Errorf("aggregating round %d: %w", st.Round, err)
		}
		next.G = g
		return next, out, nil
	}
	if c.Variant == VariantSGDMClip {
		// The heuristic of the paper's eq. 10 clips m_i − g^k, not m_i.
		for _, v := range inputs {
			vec.Sub(v, v, st.G)
		}
	}
	if c.Clipping() {
		out.Tau = c.Lambda * math.Sqrt(vec.SqDist(x1, st.X))
		for _, v := range inputs {
			if agg.Clip(v, out.Tau) {
				out.Clipped++
			}
		}
	}
	var deltaBuf []float64
	if ws != nil {
		deltaBuf = ws.delta
	}
	delta, err := aggregate(deltaBuf)
	if err != nil {
		return nil, Outcome{}, fmt.Errorf("aggregating round %d: %w", st.Round, err)
	}
	if ws != nil {
		ws.delta = delta
	}
	vec.Add(next.G, next.G, delta)
	if !vec.AllFinite(next.G) {
		// Finite inputs can still overflow when added; never let that reach the model.
		return nil, Outcome{}, fmt.Errorf("%w: aggregate of round %d overflows", ErrMessage, st.Round)
	}
	return next, out, nil
}
