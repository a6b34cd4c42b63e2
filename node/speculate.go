package node

import (
	"context"
	"crypto/sha256"
	"slices"

	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/node/relay"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Speculative round messages. A sampled member's message for round k+1 is a function of the state
// that round k's decision leads to, so it used to leave only after that decision, to every member:
// at n = 20 with four sampled members that was 76 of about 180 messages a round, and a hop of every
// round's critical path (decision → messages → proposal). But a member that prevotes for a value of
// height k has derived the state that value leads to, and at attempt 0 that value is almost always
// the one decided. So, when it prevotes for a value at attempt 0 and is sampled for k+1, it computes
// its k+1 message at that state right away and sends it, with an authenticator (wire.AuthRound), to
// the leader of (k+1, 0), which relays k's precommits (relay.go). That leader forwards the message to
// every member with its precommit bundle (wire.RoundBundle, each copy with that member's MAC), decides
// and proposes k+1 in the same turn of its loop, so bundle, messages and proposal leave in one write
// per member (outbox.go): members hold round k+1's messages when they decide k. (Sent with the
// precommit instead, in the same write as it, a sampled member's message reached that leader after
// the precommit quorum in four rounds out of five, and the proposal waited for it.)
//
// A message computed at a state that is then not decided (attempt 0 failed and another value won)
// is simply wrong for round k+1: every peer's engine keeps a member's messages at up to two states
// for a round not started, and when the round starts keeps only the one computed at the decided
// state (engine.ErrWrongState); the member sends its message again, computed at that state, as
// before speculation existed. It is not equivocation: the two messages name different states.
// A member sends at most one speculative message per round (attempt 0 only), so an honest member
// never has more than two.
//
// What speculation does not change: a message is still signed by its author and checked by every
// receiver exactly as one sent directly (the MAC proves the author sent it, as for relayed votes),
// held from its arrival (censor.go), fetched by digest if missing; a leader that drops the round
// bundles only delays its own proposal's validators, who fetch the messages from it. Only the
// stateless method (marina-pp) speculates: the momentum variants keep per-member momentum that a
// wrong guess would advance. Byzantine members whose learning attack reads the honest messages (ALIE,
// IPM, mimic) do not speculate: they craft after seeing those, which now arrive with the decision;
// the others (SHB, BF, LF, noise) craft at the speculative state, as early as an honest member.

// maxRelayedRound is the largest round message (signed envelope) sent ahead through the next
// leader. Relaying saves a small message's per-message costs (system calls, wake-ups) at the price
// of the leader sending every sampled member's message itself; for a large model that moves the
// round's bandwidth onto one peer's uplink (C·(n−1) copies of megabytes), so a larger message goes
// ahead from its author to every member directly.
const maxRelayedRound = 64 << 10

// specResendTicks: a message sent ahead goes to every member if, this many ticks into its round, no
// proposal of attempt 0 including it has arrived.
const specResendTicks = 2

// speculation is the round message this member sent ahead of the decision it depends on.
type speculation struct {
	round    uint64
	state    engine.Digest
	raw      []byte
	included bool // the attempt-0 proposal of its round included it
	resent   bool // it went to every member (guardSpeculation)
}

// authRoundIn is a round message its author sent us, as leader, to forward.
type authRoundIn struct {
	in   *roundIn
	macs []wire.MAC
}

// roundsIn is a leader's round bundle whose MACs held: each message is handled as one from its author.
type roundsIn struct {
	msgs []*roundIn
}

// speculate sends our message for height+1 computed at the state v leads to, if v is our attempt-0
// prevote for a value, sent through the relay (viaRelay), and we are sampled for height+1.
func (nd *Node) speculate(v consensus.Vote, viaRelay bool) {
	k := v.Height + 1
	if !viaRelay || v.Type != consensus.Prevote || v.Round != 0 || v.Value == (consensus.ValueID{}) ||
		nd.silent() || nd.setup.Method.Variant != method.VariantMarinaPP ||
		nd.beyondEpoch(k) || nd.loop.sent[k] || nd.loop.spec.round == k {
		return
	}
	plan := nd.eng.Plan(k)
	if !plan.Contains(nd.self) {
		return
	}
	c, ok := nd.eng.Candidate(engine.Digest(v.Value))
	if !ok || c.Next == nil || c.Next.Round != k {
		return
	}
	var vecOut compress.Vector
	if nd.adv == nil {
		vecOut = nd.honestMessage(c.Next, plan, false)
	} else if vecOut, ok = nd.adv.RoundAhead(c.Next, plan); !ok {
		return // adversary.go: a crafted message, none for an attack that reads the honest ones
	}
	body := &wire.RoundMsg{Run: nd.run, Round: k, Member: uint32(nd.self), Full: plan.Full,
		StateDigest: wire.Digest(c.StateDigest), Vec: toWire(vecOut)}
	raw, err := nd.sign(body)
	if err != nil {
		nd.log.Error("signing a speculative round message", "round", k, "err", err)
		return
	}
	nd.loop.spec = speculation{round: k, state: c.StateDigest, raw: raw}
	nd.loop.relay.Stats.Speculated++
	nd.addRound(&roundIn{msg: body, raw: raw, digest: sha256.Sum256(raw)})
	if len(raw) > maxRelayedRound {
		nd.broadcast(raw) // large: from us to every member, ahead of the decision all the same
		// It went to everyone already: guardSpeculation must not send megabytes again.
		nd.loop.spec.resent = true
		return
	}
	// The leader of (k, 0): it relays the precommits of k-1 (relay.go) and proposes k.
	leader := nd.relayLeader(consensus.Vote{Type: consensus.Precommit, Height: v.Height})
	if leader == nd.self {
		nd.queueRound(relay.Round{Author: nd.self, Raw: raw})
		return
	}
	frame, err := (&wire.AuthRound{Envelope: raw, MACs: nd.pairs.Authenticator(envelopeDigest(raw))}).Marshal()
	if err != nil {
		nd.log.Debug("encoding a speculative round message", "err", err)
		return
	}
	nd.sendTo(leader, frame)
}

// speculated reports whether our message for the round now starting already left, computed at the
// state decided (sendOwn then sends nothing more).
func (nd *Node) speculated() bool {
	s := nd.loop.spec
	if s.round == 0 || s.round != nd.eng.Round() { // round 0 follows no decision: never speculated
		return false
	}
	if !nd.specAtDecidedState() {
		nd.loop.relay.Stats.SpeculationMisses++
		nd.log.Debug("speculative round message overtaken by the decision: sending another", "round", s.round)
		return false
	}
	return true
}

func (nd *Node) specAtDecidedState() bool {
	return nd.loop.spec.state == nd.eng.Digest()
}

// A message sent ahead reaches the others only through the next leader. A leader that sits on it —
// drops its bundles, or proposes late without it — would leave it with the leader alone: validators
// could not call the omission censorship (they never held the message), and the next attempt's
// leader could not include it. So its author sends it to every member as soon as the attempt-0
// proposal of its round leaves it out, or has not come specResendTicks into the round, or the round
// moves to a later attempt (guardSpeculation, on every tick). From then on everyone holds it, as if
// it had been sent to everyone in the first place (censor.go).

// noteSpecProposal records whether the attempt-0 proposal p of our message's round includes it, and
// sends the message to everyone at once if not.
func (nd *Node) noteSpecProposal(p *wire.Proposal) {
	s := &nd.loop.spec
	if s.raw == nil || p.Height != s.round || p.Round != 0 {
		return
	}
	s.included = slices.ContainsFunc(p.Included, func(in wire.Inclusion) bool { return int(in.Member) == nd.self })
	if !s.included && s.round == nd.eng.Round() && nd.specAtDecidedState() {
		nd.resendSpeculation()
	}
}

// guardSpeculation sends our message sent ahead to every member when the round's attempt-0 proposal
// has not included it in time (see above).
func (nd *Node) guardSpeculation() {
	s := &nd.loop.spec
	if s.raw == nil || s.resent || s.included || s.round != nd.eng.Round() || !nd.specAtDecidedState() {
		return
	}
	if nd.cm.Status().Round == 0 && nd.loop.ticks-nd.loop.lastCommit < specResendTicks {
		return
	}
	nd.resendSpeculation()
}

func (nd *Node) resendSpeculation() {
	s := &nd.loop.spec
	if s.resent {
		return
	}
	s.resent = true
	nd.loop.relay.Stats.SpeculationResends++
	nd.broadcast(s.raw)
}

// queueRound queues a round message for our next bundles (we lead its round).
func (nd *Node) queueRound(r relay.Round) {
	if nd.loop.relay.QueueRound(r, nd.n) {
		nd.relayPending()
	}
}

// onAuthRound takes a round message its author sent us to forward: it is stored as any message from
// its author, and forwarded if we lead its round (and so relay the precommits before it).
func (nd *Node) onAuthRound(ctx context.Context, e *authRoundIn) {
	nd.handle(ctx, e.in)
	if r := e.in.msg.Round; r > 0 && nd.leaderOf(r, 0) == nd.self && r >= nd.eng.Round() {
		nd.queueRound(relay.Round{Author: int(e.in.msg.Member), Raw: e.in.raw, MACs: e.macs})
	}
}

// checkAuthRound checks an AuthRound frame from member sender, who must be the message's author.
func (nd *Node) checkAuthRound(raw []byte, sender int) (any, error) {
	a, err := wire.DecodeAuthRound(raw, nd.lim)
	if err != nil {
		return nil, err
	}
	if len(a.MACs) != nd.n {
		return nil, errEnvelope
	}
	in, err := nd.checkRoundFrom(a.Envelope, true, sender)
	if err != nil {
		return nil, err
	}
	if int(in.msg.Member) != sender {
		return nil, errSender
	}
	return &authRoundIn{in: in, macs: a.MACs}, nil
}

// checkRoundBundle checks a round bundle from member sender: each message whose author's MAC for us
// holds (or whose author is the sender) is taken as from its author.
func (nd *Node) checkRoundBundle(raw []byte, sender int) (any, error) {
	b, err := wire.DecodeRoundBundle(raw, nd.lim)
	if err != nil {
		return nil, err
	}
	var out []*roundIn
	for _, m := range b.Msgs {
		var env wire.Envelope
		if err := wire.Unmarshal(m.Envelope, &env, nd.lim); err != nil || env.Type != wire.TypeRound || int(env.Signer) >= nd.n {
			continue
		}
		author := int(env.Signer)
		if author == nd.self {
			continue
		}
		if author != sender && !nd.pairs.Check(author, envelopeDigest(m.Envelope), m.MAC) {
			nd.macFailures.Add(1)
			nd.log.Debug("relayed round message dropped", "leader", sender, "author", author, "err", relay.ErrMAC)
			continue
		}
		in, err := nd.checkRoundFrom(m.Envelope, true, author)
		if err != nil {
			continue
		}
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return &roundsIn{msgs: out}, nil
}

// sendRoundBundle sends member j the queued round messages it did not write, each with j's MAC.
func (nd *Node) sendRoundBundle(j int, rounds []relay.Round) {
	b := relay.RoundsFor(rounds, j)
	if len(b.Msgs) == 0 {
		return
	}
	frame, err := b.Marshal()
	if err != nil {
		nd.log.Debug("encoding a round bundle", "to", j, "err", err)
		return
	}
	nd.sendTo(j, frame)
	nd.loop.relay.Stats.RoundBundlesOut++
}
