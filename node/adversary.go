package node

import (
	"context"
	"log/slog"

	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/byzantine"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// nodeEnv is the Node's byzantine.Env: what a Byzantine peer's attacks act through.
type nodeEnv struct{ nd *Node }

func (e nodeEnv) Self() int                              { return e.nd.self }
func (e nodeEnv) N() int                                 { return e.nd.n }
func (e nodeEnv) Run() wire.RunID                        { return e.nd.run }
func (e nodeEnv) Limits() wire.Limits                    { return e.nd.lim }
func (e nodeEnv) Log() *slog.Logger                      { return e.nd.log }
func (e nodeEnv) Key() p2p.PrivKey                       { return e.nd.cfg.Key }
func (e nodeEnv) Sign(body wire.Message) ([]byte, error) { return e.nd.sign(body) }
func (e nodeEnv) Broadcast(raw []byte)                   { e.nd.broadcast(raw) }
func (e nodeEnv) SendDirect(j int, raw []byte) error {
	return e.nd.cfg.Host.Send(e.nd.peers[j], protoDirect, raw)
}
func (e nodeEnv) Request(ctx context.Context, j int, s byzantine.Stream, body []byte) error {
	proto := protoMsgs
	if s == byzantine.StreamState {
		proto = protoState
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := e.nd.cfg.Host.Request(rctx, e.nd.peers[j], proto, body, e.nd.lim.MaxMessage)
	return err
}
func (e nodeEnv) Publish(ctx context.Context, consensusTopic bool, raw []byte) error {
	if consensusTopic {
		return e.nd.consT.Publish(ctx, raw)
	}
	return e.nd.roundT.Publish(ctx, raw)
}
func (e nodeEnv) Ticks() uint64                                    { return e.nd.loop.ticks }
func (e nodeEnv) Round() uint64                                    { return e.nd.eng.Round() }
func (e nodeEnv) Plan(k uint64) method.Plan                        { return e.nd.eng.Plan(k) }
func (e nodeEnv) StateDigest() engine.Digest                       { return e.nd.eng.Digest() }
func (e nodeEnv) Dim() int                                         { return e.nd.setup.Model.Dim() }
func (e nodeEnv) Seed() uint64                                     { return e.nd.gen.Spec.Seed }
func (e nodeEnv) FutureHeights() uint64                            { return maxFutureHeights }
func (e nodeEnv) Byzantine(j int) bool                             { return e.nd.setup.Byzantine[j] }
func (e nodeEnv) Value(id consensus.ValueID) *wire.Proposal        { return e.nd.loop.values[id] }
func (e nodeEnv) PutValue(id consensus.ValueID, p *wire.Proposal)  { e.nd.loop.values[id] = p }
func (e nodeEnv) RecordVote(v consensus.Vote, raw []byte)          { e.nd.loop.votes.Put(v, raw, false) }
func (e nodeEnv) State() *method.State                             { return e.nd.eng.State() }
func (e nodeEnv) Held(k uint64) []*engine.Stored                   { return e.nd.eng.Held(k) }
func (e nodeEnv) Setup() *sim.Setup                                { return e.nd.setup }
func (e nodeEnv) CollectTicks() uint64                             { return uint64(e.nd.gen.Timeouts.CollectTicks) }
func (e nodeEnv) SendRound(ctx context.Context, v compress.Vector) { e.nd.sendRound(ctx, v) }
func (e nodeEnv) HonestMessage(st *method.State, plan method.Plan, flipped bool) compress.Vector {
	return e.nd.honestMessage(st, plan, flipped)
}
func (e nodeEnv) DigestOf(inc []engine.Inclusion, negate int) (engine.Digest, bool) {
	return e.nd.digestOf(inc, negate)
}

// DecidedEnvelope returns a valid envelope of an already decided round (any member's), for a replay.
func (e nodeEnv) DecidedEnvelope() []byte { return e.nd.serving.HeldBefore(e.nd.current.Load()) }

// silent reports whether this peer sends nothing at all (a mute adversary).
func (nd *Node) silent() bool { return nd.adv != nil && nd.adv.Silent() }

// ownForgery lets a Byzantine peer's own forged publishes past its own validator (gossipsub runs the
// validator on local publishes and refuses to send what it rejects). Honest peers never skip it.
func (nd *Node) ownForgery(from p2p.PeerID) bool {
	return nd.adv != nil && nd.adv.Forges() && from == nd.cfg.Host.ID()
}

var _ byzantine.Env = nodeEnv{}
