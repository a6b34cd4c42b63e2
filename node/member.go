package node

import (
	"context"
	"crypto/sha256"

	"github.com/byzpp/byzpp/algo/attack"
	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/rng"
	"github.com/byzpp/byzpp/p2p/wire"
)

// methodMessage converts a checked round message for the engine.
func methodMessage(m *wire.RoundMsg) method.Message {
	return method.Message{Member: int(m.Member), Vec: toCompress(m.Vec)}
}

// sendOwn sends this member's message for the current round if it is sampled. An attacker running a
// learning-level attack first waits for the honest messages (see maybeCraft).
func (nd *Node) sendOwn(ctx context.Context) {
	k := nd.eng.Round()
	plan := nd.eng.Plan(k)
	if nd.silent() || nd.loop.sent[k] || !plan.Contains(nd.self) {
		return
	}
	if nd.speculated() { // speculate.go: it left with our prevote of the height before
		nd.loop.sent[k] = true
		return
	}
	if nd.learning() != nil {
		nd.loop.crafting, nd.loop.craftTick = true, nd.loop.ticks
		nd.maybeCraft(ctx)
		return
	}
	st := nd.eng.State()
	v := nd.own.HonestMessage(&nd.setup.Method, nd.gen.Spec.Seed, st, plan, nil)
	nd.sendRound(ctx, v)
}

// maybeCraft lets a Byzantine member craft its message once every honest member of the sample has
// sent (or half the leader's collection time has passed), exactly as sim.Runner builds attack.View.
// An attack that does not read the honest messages (attack.NeedsHonest) crafts at once.
func (nd *Node) maybeCraft(ctx context.Context) {
	if !nd.loop.crafting {
		return
	}
	k := nd.eng.Round()
	plan := nd.eng.Plan(k)
	held := map[int][]float64{}
	for _, m := range nd.eng.Held(k) {
		held[m.Msg.Member] = m.Msg.Vec.ToDense()
	}
	var honest [][]float64
	missing := 0
	for _, i := range plan.Sample {
		if nd.setup.Byzantine[i] {
			continue
		}
		if v, ok := held[i]; ok {
			honest = append(honest, v)
		} else {
			missing++
		}
	}
	if missing > 0 && attack.NeedsHonest(nd.learning()) && nd.loop.ticks-nd.loop.craftTick < uint64(nd.gen.Timeouts.CollectTicks/2) {
		return
	}
	nd.loop.crafting = false
	if v, ok := nd.learning().Craft(nd.attackView(nd.eng.State(), plan, honest)); ok && v.Validate(nd.setup.Model.Dim()) == nil {
		nd.sendRound(ctx, v)
	}
}

// attackView is what this Byzantine member knows when it crafts its message of plan's round at
// state st, given the honest sampled members' messages it holds (as sim.Runner builds it).
func (nd *Node) attackView(st *method.State, plan method.Plan, honest [][]float64) *attack.View {
	s := nd.setup
	c := &s.Method
	seed := nd.gen.Spec.Seed
	byzInSample := 0
	for _, i := range plan.Sample {
		if s.Byzantine[i] {
			byzInSample++
		}
	}
	return &attack.View{
		Config: c, State: st, X0: s.X0, Plan: plan, Member: nd.self,
		Members: s.Spec.Members, Byz: s.Spec.Byzantine, ByzInSample: byzInSample, Honest: honest,
		Own:     func() compress.Vector { return nd.own.HonestMessage(c, seed, st, plan, nil) },
		Flipped: func() compress.Vector { return nd.own.HonestMessage(c, seed, st, plan, s.FlippedShard(nd.self)) },
		Rand:    rng.New(seed, plan.Round, rng.Attack, uint64(nd.self)),
	}
}

// sendRound signs, stores and gossips this member's message for the current round.
func (nd *Node) sendRound(ctx context.Context, v compress.Vector) {
	st := nd.eng.State()
	k := st.Round
	plan := nd.eng.Plan(k)
	body := &wire.RoundMsg{Run: nd.run, Round: k, Member: uint32(nd.self), Full: plan.Full,
		StateDigest: wire.Digest(nd.eng.Digest()), Vec: toWire(v)}
	env, err := wire.SignMessage(nd.cfg.Key, uint32(nd.self), body)
	if err != nil {
		nd.log.Error("signing round message", "round", k, "err", err)
		return
	}
	raw, err := wire.Marshal(&env)
	if err != nil {
		nd.log.Error("encoding round message", "round", k, "err", err)
		return
	}
	nd.loop.sent[k] = true
	nd.addRound(&roundIn{msg: body, raw: raw, digest: sha256.Sum256(raw)})
	// Peers that miss it fetch it by digest once a proposal includes it.
	nd.broadcast(raw)
	nd.maybePropose()
}
