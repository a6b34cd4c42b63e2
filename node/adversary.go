package node

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/byzpp/byzpp/algo/attack"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Adversary is a Byzantine peer's behaviour (Config.Attack), called by the honest node at these named
// points. Every honest peer has a nil Adversary, and every call site reads `if nd.adv != nil`; the one
// implementation, byzantine (byzantine.go, attack_*.go), acts only through Env, never on the Node.
type Adversary interface {
	// Silent reports whether this peer sends nothing at all (AttackMute): no round message, proposal,
	// vote or relayed vote.
	Silent() bool
	// Tick runs once per event-loop tick, after the honest work of the tick (forged, spam and flood
	// messages).
	Tick(ctx context.Context)
	// OnSend sees each of our consensus messages before the honest send; true means the adversary
	// handled it (withheld or equivocated) and the honest send is skipped.
	OnSend(ctx context.Context, m consensus.Message) bool
	// SignedVote may replace an honestly signed vote envelope before it is stored and sent
	// (AttackBadSigVotes).
	SignedVote(raw []byte) []byte
	// CollectWindow returns how many ticks a leader waits for round messages before proposing, given
	// the honest window; ok false leaves the honest rule (complete sample or window) in force.
	CollectWindow(window uint64) (wait uint64, ok bool)
	// LeaderChoice returns the inclusion list and state digest this peer proposes for candidate c
	// (c's own when it does not doctor proposals).
	LeaderChoice(c *engine.Candidate) ([]engine.Inclusion, engine.Digest)
	// DropsRelay reports whether this peer, as leader, forwards none of the votes sent to it.
	DropsRelay() bool
	// TamperRelay may alter, in place, a frame of relayed votes about to be sent.
	TamperRelay(votes []wire.RelayedVote)
	// Learning is the learning-level attack crafting this member's round messages (nil: honest ones).
	Learning() attack.Attack
	// ReplacingDecided is told, with the node's state lock held, the decided state about to be
	// replaced: the candidate one (cand) or the encoded certified one (certified), either may be nil.
	ReplacingDecided(cand *wire.StateResponse, certified []byte)
	// ServeState turns the encoded certified state this peer would serve into what it serves.
	ServeState(honest []byte) ([]byte, error)
	// Forges reports whether this peer publishes messages its own validators would refuse (they must
	// let its own publishes through).
	Forges() bool
}

// Env is what an Adversary acts through: the node's identity, signing, sending and read access to
// the engine. The node implements it (nodeEnv); no attack needs the Node itself.
type Env interface {
	Self() int
	N() int
	Run() wire.RunID
	Limits() wire.Limits
	Log() *slog.Logger
	// Key is this member's signing key (for deliberately broken signatures).
	Key() p2p.PrivKey
	// Sign signs body as this member and encodes the envelope.
	Sign(body wire.Message) ([]byte, error)
	// Broadcast sends a signed consensus envelope to every member the way honest votes go.
	Broadcast(raw []byte)
	// SendDirect sends raw to member j over the direct stream protocol.
	SendDirect(j int, raw []byte) error
	// Request sends a request on a stream protocol to member j and waits for the answer.
	Request(ctx context.Context, j int, proto string, body []byte) error
	// Publish publishes raw on the consensus topic (consensusTopic) or the round topic.
	Publish(ctx context.Context, consensusTopic bool, raw []byte) error
	// Ticks is the event loop's tick count.
	Ticks() uint64
	// Round is the round (height) being decided; Plan its sampling plan.
	Round() uint64
	Plan(k uint64) method.Plan
	// StateDigest is the digest of the current model state.
	StateDigest() engine.Digest
	// Dim is the model dimension; Seed the run's seed.
	Dim() int
	Seed() uint64
	// Byzantine reports whether member j is configured Byzantine.
	Byzantine(j int) bool
	// Value is the proposal content of value id, if seen; PutValue records one.
	Value(id consensus.ValueID) *wire.Proposal
	PutValue(id consensus.ValueID, p *wire.Proposal)
	// RecordVote records our signed envelope of v (for certificates and rebroadcasts).
	RecordVote(v consensus.Vote, raw []byte)
	// DigestOf derives the state digest the included messages lead to, with the vector at index
	// negate (if ≥ 0) negated first.
	DigestOf(inc []engine.Inclusion, negate int) (engine.Digest, bool)
	// DecidedEnvelope is a valid envelope of an already decided round (any member's), or nil.
	DecidedEnvelope() []byte
}

// nodeEnv is the Node's Env.
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
func (e nodeEnv) Request(ctx context.Context, j int, proto string, body []byte) error {
	_, err := e.nd.cfg.Host.Request(ctx, e.nd.peers[j], proto, body, e.nd.lim.MaxMessage)
	return err
}
func (e nodeEnv) Publish(ctx context.Context, consensusTopic bool, raw []byte) error {
	if consensusTopic {
		return e.nd.consT.Publish(ctx, raw)
	}
	return e.nd.roundT.Publish(ctx, raw)
}
func (e nodeEnv) Ticks() uint64                                   { return e.nd.loop.ticks }
func (e nodeEnv) Round() uint64                                   { return e.nd.eng.Round() }
func (e nodeEnv) Plan(k uint64) method.Plan                       { return e.nd.eng.Plan(k) }
func (e nodeEnv) StateDigest() engine.Digest                      { return e.nd.eng.Digest() }
func (e nodeEnv) Dim() int                                        { return e.nd.setup.Model.Dim() }
func (e nodeEnv) Seed() uint64                                    { return e.nd.gen.Spec.Seed }
func (e nodeEnv) Byzantine(j int) bool                            { return e.nd.setup.Byzantine[j] }
func (e nodeEnv) Value(id consensus.ValueID) *wire.Proposal       { return e.nd.loop.values[id] }
func (e nodeEnv) PutValue(id consensus.ValueID, p *wire.Proposal) { e.nd.loop.values[id] = p }
func (e nodeEnv) RecordVote(v consensus.Vote, raw []byte)         { e.nd.loop.votes.Put(v, raw, false) }
func (e nodeEnv) DigestOf(inc []engine.Inclusion, negate int) (engine.Digest, bool) {
	return e.nd.digestOf(inc, negate)
}
func (e nodeEnv) DecidedEnvelope() []byte { return e.nd.decidedEnvelope() }

// silent reports whether this peer sends nothing at all (a mute adversary).
func (nd *Node) silent() bool { return nd.adv != nil && nd.adv.Silent() }

// learning is this member's learning-level attack, nil for honest round messages.
func (nd *Node) learning() attack.Attack {
	if nd.adv == nil {
		return nil
	}
	return nd.adv.Learning()
}

// decidedEnvelope returns a valid envelope of an already decided round (any member's), for a replay.
func (nd *Node) decidedEnvelope() []byte {
	k := nd.current.Load()
	nd.mu.Lock()
	defer nd.mu.Unlock()
	var best []byte
	var bestDigest [32]byte
	for r, m := range nd.served {
		if r >= k {
			continue
		}
		for d, raw := range m { // pick the smallest digest so the choice does not depend on map order
			if best == nil || bytes.Compare(d[:], bestDigest[:]) < 0 {
				best, bestDigest = raw, d
			}
		}
	}
	return best
}

// ownForgery lets a Byzantine peer's own forged publishes past its own validator (gossipsub runs the
// validator on local publishes and refuses to send what it rejects). Honest peers never skip it.
func (nd *Node) ownForgery(from peer.ID) bool {
	return nd.adv != nil && nd.adv.Forges() && from == nd.cfg.Host.ID()
}
