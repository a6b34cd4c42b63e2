package byzantine

import (
	"context"

	"github.com/byzpp/byzpp/algo/attack"
	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/rng"
)

// The learning-level attacks (algo/attack): a Byzantine member crafts its round message from what it
// knows — the state, the plan, its own honest message and, for ALIE, IPM and mimic, the honest
// sampled members' messages — exactly as sim.Runner builds attack.View, so that a network run and the
// simulator attack alike.

// crafting is a learning-level attacker's wait for the honest messages of the current round.
type crafting struct {
	waiting bool
	since   uint64 // tick at which it started waiting
}

// OwnRound takes over this member's round message of the current round when it crafts its messages:
// it crafts now, or waits (Craft) until the honest sampled members have sent or half the leader's
// collection window has passed.
func (b *byzantine) OwnRound(ctx context.Context) bool {
	if b.atk.learning == nil {
		return false
	}
	b.craft = crafting{waiting: true, since: b.env.Ticks()}
	b.Craft(ctx)
	return true
}

// Craft sends the crafted round message this member waits to send, once every honest member of the
// sample has sent (or half the leader's collection time has passed). An attack that does not read
// the honest messages (attack.NeedsHonest) crafts at once.
func (b *byzantine) Craft(ctx context.Context) {
	if !b.craft.waiting {
		return
	}
	env := b.env
	k := env.Round()
	plan := env.Plan(k)
	held := map[int][]float64{}
	for _, m := range env.Held(k) {
		held[m.Msg.Member] = m.Msg.Vec.ToDense()
	}
	var honest [][]float64
	missing := 0
	for _, i := range plan.Sample {
		if env.Byzantine(i) {
			continue
		}
		if v, ok := held[i]; ok {
			honest = append(honest, v)
		} else {
			missing++
		}
	}
	if missing > 0 && attack.NeedsHonest(b.atk.learning) && env.Ticks()-b.craft.since < env.CollectTicks()/2 {
		return
	}
	b.craft.waiting = false
	if v, ok := b.atk.learning.Craft(b.view(env.State(), plan, honest)); ok && v.Validate(env.Dim()) == nil {
		env.SendRound(ctx, v)
	}
}

// RoundAhead is the message this member sends ahead of the decision at state st (node's
// speculate.go): the honest one when it does not craft, none when its attack reads the honest
// messages (those arrive only with the decision), otherwise the crafted one — as early as an honest
// member computes its own.
func (b *byzantine) RoundAhead(st *method.State, plan method.Plan) (compress.Vector, bool) {
	a := b.atk.learning
	switch {
	case a == nil:
		return b.env.HonestMessage(st, plan, false), true
	case attack.NeedsHonest(a):
		return compress.Vector{}, false
	}
	v, ok := a.Craft(b.view(st, plan, nil))
	if !ok || v.Validate(b.env.Dim()) != nil {
		return compress.Vector{}, false
	}
	return v, true
}

// view is what this Byzantine member knows when it crafts its message of plan's round at state st,
// given the honest sampled members' messages it holds (as sim.Runner builds it).
func (b *byzantine) view(st *method.State, plan method.Plan, honest [][]float64) *attack.View {
	env := b.env
	s := env.Setup()
	self, seed := env.Self(), env.Seed()
	byzInSample := 0
	for _, i := range plan.Sample {
		if s.Byzantine[i] {
			byzInSample++
		}
	}
	return &attack.View{
		Config: &s.Method, State: st, X0: s.X0, Plan: plan, Member: self,
		Members: s.Spec.Members, Byz: s.Spec.Byzantine, ByzInSample: byzInSample, Honest: honest,
		Own:     func() compress.Vector { return env.HonestMessage(st, plan, false) },
		Flipped: func() compress.Vector { return env.HonestMessage(st, plan, true) },
		Rand:    rng.New(seed, plan.Round, rng.Attack, uint64(self)),
	}
}
