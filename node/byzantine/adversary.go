// Package byzantine is a Byzantine testnet peer's behaviour (`peer run --attack LIST`): the
// protocol-level and state-serving attacks named in node/adversary's Registry, and the learning-level
// ones of algo/attack as the member's round-message crafter. node holds an Adversary (nil for an honest
// peer) and calls it at the named points of its honest path; the attacks act only through Env, which
// node implements. Honest peers must keep agreeing and deciding against every one of them, and
// penalise or name the culprit.
//
// May import: the standard library, algo/ (attack, compress, method, rng, sim), consensus,
// node/adversary, node/engine, p2p and p2p/wire; never node.
package byzantine

import (
	"context"
	"log/slog"

	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Stream names one of the node's request-response stream protocols (Env.Request).
type Stream int

const (
	// StreamMsgs fetches round messages by digest.
	StreamMsgs Stream = iota
	// StreamState fetches the latest certified state.
	StreamState
)

// Adversary is a Byzantine peer's behaviour (Config.Attack), called by the honest node at these named
// points. Every honest peer has a nil Adversary, and every call site reads `if nd.adv != nil`; the one
// implementation (New) acts only through Env.
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
	// OwnRound is called when this member is to send its round message of the current round; true
	// means the adversary sends a crafted one (learning-level attacks), now or from Craft, and the
	// honest message is not sent.
	OwnRound(ctx context.Context) bool
	// Craft runs after new round messages arrived and once per tick: a crafted message waiting for
	// the honest ones leaves once they are held.
	Craft(ctx context.Context)
	// RoundAhead is the round message of plan's round at state st this member sends ahead of the
	// decision (the honest one unless it crafts); ok false sends nothing ahead.
	RoundAhead(st *method.State, plan method.Plan) (v compress.Vector, ok bool)
	// ReplacingDecided is told, with the lock of the node's statesync.Server held, the decided state
	// about to be replaced: the candidate one (cand) or the encoded certified one (certified), either
	// may be nil.
	ReplacingDecided(cand *wire.StateResponse, certified []byte)
	// ServeState turns the encoded certified state this peer would serve into what it serves.
	ServeState(honest []byte) ([]byte, error)
	// Forges reports whether this peer publishes messages its own validators would refuse (they must
	// let its own publishes through).
	Forges() bool
}

// Env is what an Adversary acts through: the node's identity, signing, sending and read access to
// the engine. node implements it (node/adversary.go: nodeEnv).
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
	// Request sends a request on one of the node's stream protocols to member j and waits (a bounded
	// time) for the answer.
	Request(ctx context.Context, j int, s Stream, body []byte) error
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
	// FutureHeights is how many heights ahead of the current one the node keeps votes for.
	FutureHeights() uint64
	// Byzantine reports whether member j is configured Byzantine.
	Byzantine(j int) bool
	// Value is the proposal content of value id, if seen; PutValue records one.
	Value(id consensus.ValueID) *wire.Proposal
	PutValue(id consensus.ValueID, p *wire.Proposal)
	// RecordVote records our signed envelope of v (for certificates and rebroadcasts).
	RecordVote(v consensus.Vote, raw []byte)
	// State is the current model state; Held the round messages held for round k.
	State() *method.State
	Held(k uint64) []*engine.Stored
	// Setup is the training setup of this epoch (method, initial point, members, Byzantine ones).
	Setup() *sim.Setup
	// HonestMessage is this member's honest round message of plan's round at st, computed on its
	// shard with labels flipped if flipped.
	HonestMessage(st *method.State, plan method.Plan, flipped bool) compress.Vector
	// SendRound signs, stores and sends v as this member's round message of the current round.
	SendRound(ctx context.Context, v compress.Vector)
	// CollectTicks is the leader's collection window of the genesis, in ticks.
	CollectTicks() uint64
	// DigestOf derives the state digest the included messages lead to, with the vector at index
	// negate (if ≥ 0) negated first.
	DigestOf(inc []engine.Inclusion, negate int) (engine.Digest, bool)
	// DecidedEnvelope is a valid envelope of an already decided round (any member's), or nil.
	DecidedEnvelope() []byte
}
