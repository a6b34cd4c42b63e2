package node

import (
	"context"
	"crypto/sha256"

	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/p2p/wire"
)

// methodMessage converts a checked round message for the engine.
func methodMessage(m *wire.RoundMsg) method.Message {
	return method.Message{Member: int(m.Member), Vec: toCompress(m.Vec)}
}

// sendOwn sends this member's message for the current round if it is sampled. A Byzantine member
// running a learning-level attack crafts its own instead (byzantine.Adversary.OwnRound).
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
	if nd.adv != nil && nd.adv.OwnRound(ctx) { // adversary.go: a crafted message, now or later
		return
	}
	nd.sendRound(ctx, nd.honestMessage(nd.eng.State(), plan, false))
}

// honestMessage is this member's honest round message of plan's round at state st, on its own shard
// (with labels flipped if flipped: a label-flipping attacker's view of it).
func (nd *Node) honestMessage(st *method.State, plan method.Plan, flipped bool) compress.Vector {
	var shard *data.Dataset
	if flipped {
		shard = nd.setup.FlippedShard(nd.self)
	}
	return nd.own.HonestMessage(&nd.setup.Method, nd.gen.Spec.Seed, st, plan, shard)
}

// sendRound signs, stores and gossips this member's message for the current round.
func (nd *Node) sendRound(ctx context.Context, v compress.Vector) {
	st := nd.eng.State()
	k := st.Round
	plan := nd.eng.Plan(k)
	body := &wire.RoundMsg{Run: nd.run, Round: k, Member: uint32(nd.self), Full: plan.Full,
		StateDigest: wire.Digest(nd.eng.Digest()), Vec: toWire(v)}
	raw, err := nd.sign(body)
	if err != nil {
		nd.log.Error("signing round message", "round", k, "err", err)
		return
	}
	nd.loop.sent[k] = true
	nd.addRound(&roundIn{msg: body, raw: raw, digest: sha256.Sum256(raw)})
	// Peers that miss it fetch it by digest once a proposal includes it.
	nd.broadcast(raw)
	nd.maybePropose()
}
