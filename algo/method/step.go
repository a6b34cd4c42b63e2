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
	plan := c.PlanRound(seed, st.Round)
	dim := len(st.X)
	if len(st.G) != dim {
		return nil, Outcome{}, fmt.Errorf("%w: len(g) = %d, len(x) = %d", ErrState, len(st.G), dim)
	}
	inputs := make([][]float64, len(msgs))
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
		inputs[i] = m.Vec.ToDense()
	}

	x1 := st.NextPoint(c.LR)
	next := &State{Round: st.Round + 1, X: x1, G: vec.Clone(st.G)}
	out := Outcome{Full: plan.Full, Included: len(msgs), Tau: math.Inf(1)}
	if len(inputs) == 0 {
		return next, out, nil
	}
	ctx := agg.Context{
		Rand:      rng.New(seed, st.Round, rng.Bucket, 0),
		Byzantine: c.Byzantine,
	}

	differences := !plan.Full && c.Variant != VariantSGDM
	if !differences {
		// Full round (or plain robust momentum SGD): g^{k+1} = ARAgg(m_i). Centered clipping starts
		// from the agreed g^k.
		ctx.Center = st.G
		g, err := c.Aggregator.Aggregate(inputs, ctx)
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
	delta, err := c.Aggregator.Aggregate(inputs, ctx)
	if err != nil {
		return nil, Outcome{}, fmt.Errorf("aggregating round %d: %w", st.Round, err)
	}
	vec.Add(next.G, next.G, delta)
	if !vec.AllFinite(next.G) {
		// Finite inputs can still overflow when added; never let that reach the model.
		return nil, Outcome{}, fmt.Errorf("%w: aggregate of round %d overflows", ErrMessage, st.Round)
	}
	return next, out, nil
}
