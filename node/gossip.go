package node

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/node/relay"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// roundIn is a checked round message.
type roundIn struct {
	msg    *wire.RoundMsg
	raw    []byte
	digest engine.Digest
}

// proposalIn and voteIn are checked consensus messages with the signed envelope they came in.
type proposalIn struct {
	p      *wire.Proposal
	signer int
}

type voteIn struct {
	v   *wire.Vote
	env wire.Envelope
	raw []byte
	// unverified: the signature is not checked yet (a vote sent directly by its signer, see direct.go,
	// or relayed with its signer's MAC, see relay.go).
	unverified bool
	// auth is the authenticator of a vote sent to us as the attempt's leader, to forward (relay.go).
	auth []wire.MAC
	// stale: too late to count here; only forwarded (a vote with auth).
	stale bool
}

// vote is the consensus view of the vote.
func (in *voteIn) vote() consensus.Vote {
	return consensus.Vote{Type: consensus.VoteType(in.v.Type), Height: in.v.Height, Round: in.v.Round,
		Value: consensus.ValueID(in.v.Value), Voter: int(in.env.Signer)}
}

// Errors of the checks, used as reject/ignore reasons.
var (
	errStale    = errors.New("stale")
	errFuture   = errors.New("too far ahead")
	errFaulty   = errors.New("from an equivocator")
	errNotMine  = errors.New("wrong run")
	errSender   = relay.ErrSender
	errSampled  = errors.New("sender not sampled")
	errLeader   = errors.New("sender not leader")
	errDim      = errors.New("wrong dimension")
	errEnvelope = relay.ErrEnvelope
)

// errOtherEpoch: a check against this Node's member list failed for a message that may be signed
// under another epoch's (membership.go memberListCheck): ignored, its sender not blamed.
var errOtherEpoch = errors.New("for another epoch's member list")

// openEnvelope decodes raw as an envelope of type typ signed by a member, and checks the signature
// unless the same bytes were accepted before (see relay.SigCache). With allowUnverified, bytes accepted
// before without a signature check (a vote its signer sent us directly) pass unchecked too; verified
// then reports false and the caller must treat the message as such.
//
// from is the member whose authenticated channel the bytes came over, or −1: an envelope it signed
// itself is accepted unchecked too (lazy verification, direct.go), and remembered as such.
func (nd *Node) openEnvelope(raw []byte, typ wire.Type, allowUnverified bool, from int) (env wire.Envelope, m wire.Message, verified bool, err error) {
	if err := wire.Unmarshal(raw, &env, nd.lim); err != nil {
		return env, nil, false, fmt.Errorf("%w: %w", errEnvelope, err)
	}
	if env.Type != typ {
		return env, nil, false, fmt.Errorf("%w: type %v on the %v channel", errEnvelope, env.Type, typ)
	}
	if m, err = env.Open(nd.lim); err != nil {
		return env, nil, false, err
	}
	// Signer indices and keys are those of the sender's epoch: around a change of the member list an
	// honest member sends messages for the next epoch, or the last one, or one this Node has not
	// learned of yet, that fail the checks against this Node's list without any fault of the sender
	// (memberListCheck; TestNodeFaultSchedules found honest members named and cut off for them).
	h, hasHeight := messageHeight(m)
	if int(env.Signer) >= nd.n {
		err = fmt.Errorf("%w: signer %d", errEnvelope, env.Signer)
		if hasHeight {
			err = nd.memberListCheck(h, err)
		}
		return env, nil, false, err
	}
	d := envelopeDigest(raw)
	known, verified := nd.sigs.Lookup(d)
	fromSigner := from >= 0 && int(env.Signer) == from
	if !fromSigner && (!known || !(verified || allowUnverified)) {
		nd.verified.Add(1)
		if err := env.Verify(nd.keys[env.Signer]); err != nil {
			if hasHeight {
				err = nd.memberListCheck(h, err)
			}
			return env, nil, false, err
		}
		verified = true
	}
	if hasHeight {
		nd.sigs.Add(d, h, verified)
	}
	return env, m, verified, nil
}

// messageHeight is the round (consensus height) a protocol message belongs to.
func messageHeight(m wire.Message) (uint64, bool) {
	switch b := m.(type) {
	case *wire.RoundMsg:
		return b.Round, true
	case *wire.Proposal:
		return b.Height, true
	case *wire.Vote:
		return b.Height, true
	}
	return 0, false
}

// checkRound decodes and checks a round message. window=false skips the round-window check (for
// messages fetched because a proposal includes them).
func (nd *Node) checkRound(raw []byte, window bool) (*roundIn, error) {
	return nd.checkRoundFrom(raw, window, -1)
}

// checkRoundFrom is checkRound for bytes that came over member from's authenticated channel (−1:
// unknown): if from is the author, the signature is left unchecked (see lazyround.go).
func (nd *Node) checkRoundFrom(raw []byte, window bool, from int) (*roundIn, error) {
	env, m, _, err := nd.openEnvelope(raw, wire.TypeRound, false, from)
	if err != nil {
		return nil, err
	}
	rm := m.(*wire.RoundMsg)
	switch {
	case rm.Run != nd.run:
		return nil, errNotMine
	case rm.Member != env.Signer:
		return nil, fmt.Errorf("%w: member %d signed by %d", errSender, rm.Member, env.Signer)
	case int(rm.Vec.Dim) != nd.setup.Model.Dim():
		return nil, fmt.Errorf("%w: %d, model has %d", errDim, rm.Vec.Dim, nd.setup.Model.Dim())
	case !nd.setup.Method.PlanRound(nd.gen.Spec.Seed, rm.Round).Contains(int(rm.Member)):
		return nil, nd.memberListCheck(rm.Round, fmt.Errorf("%w: member %d, round %d", errSampled, rm.Member, rm.Round))
	}
	if window {
		if err := nd.inWindow(rm.Round, int(env.Signer)); err != nil {
			return nil, err
		}
		// A member caught equivocating on round messages loses its round messages (which of its two
		// would count is the attacker's choice); its votes and proposals still count (inWindow).
		if nd.acct.Faulty(int(env.Signer)) {
			return nil, errFaulty
		}
	}
	return &roundIn{msg: rm, raw: raw, digest: sha256.Sum256(raw)}, nil
}

// inWindow checks that a message of an authenticated signer is for a height this peer works on
// (current, or up to maxFutureHeights ahead), and records the height the signer was heard at, even
// far ahead, for the amnesia bound (amnesia.go).
//
// It never drops a message for who its signer is. A member known to equivocate still has its votes
// and proposals counted: consensus tolerates f equivocators by counting each one's first vote per
// slot, and a Byzantine member chooses which honest peers catch it, so dropping its votes at some
// peers and not others let it split their views — a lock that peers 2 and 3 could never verify
// stalled a height for good (TestFaultyMembersVotesCount).
func (nd *Node) inWindow(round uint64, signer int) error {
	nd.heard.Note(signer, round)
	cur := nd.current.Load()
	if round < cur {
		return errStale
	}
	if round > cur+maxFutureHeights {
		return errFuture
	}
	return nil
}

// verdict maps a check error to a gossip verdict: stale, early and duplicate messages are ignored (an
// honest peer may send them), anything else is rejected and counts against the forwarding peer.
func verdict(err error) (p2p.ValidationResult, string) {
	switch {
	case errors.Is(err, errStale):
		return p2p.Ignore, "stale"
	case errors.Is(err, errFuture):
		return p2p.Ignore, "future"
	case errors.Is(err, errOtherEpoch):
		return p2p.Ignore, "other-epoch"
	case errors.Is(err, errFaulty):
		return p2p.Ignore, "equivocator"
	case errors.Is(err, errNotMine):
		return p2p.Ignore, "other-run"
	case errors.Is(err, errSampled):
		return p2p.Reject, "not-sampled"
	case errors.Is(err, errLeader):
		return p2p.Reject, "not-leader"
	case errors.Is(err, errDim):
		return p2p.Reject, "dimension"
	case errors.Is(err, wire.ErrSignature):
		return p2p.Reject, "signature"
	case errors.Is(err, wire.ErrNonFinite):
		return p2p.Reject, "non-finite"
	}
	return p2p.Reject, "malformed"
}

func (nd *Node) validateRound(_ context.Context, from p2p.PeerID, data []byte) (any, p2p.ValidationResult, string) {
	if nd.ownForgery(from) { // adversary.go: a Byzantine peer's own forgeries
		return nil, p2p.Accept, ""
	}
	in, err := nd.checkRound(data, true)
	if err != nil {
		nd.attribute(data, err) // blame.go: name the signer of a signed offence
		res, reason := verdict(err)
		return nil, res, reason
	}
	return in, p2p.Accept, ""
}

func (nd *Node) validateConsensus(_ context.Context, from p2p.PeerID, data []byte) (any, p2p.ValidationResult, string) {
	if nd.ownForgery(from) { // adversary.go: a Byzantine peer's own forgeries
		return nil, p2p.Accept, ""
	}
	in, err := nd.checkConsensus(data)
	if err != nil {
		nd.attribute(data, err) // blame.go: name the signer of a signed offence
		res, reason := verdict(err)
		return nil, res, reason
	}
	return in, p2p.Accept, ""
}

func (nd *Node) checkConsensus(raw []byte) (any, error) { return nd.checkConsensusFrom(raw, -1) }

// checkConsensusFrom is checkConsensus for bytes that came over member from's authenticated channel
// (−1: unknown). A proposal its proposer sent us directly is taken without checking its signature:
// the channel proves who sent it, and a proposal's signature is never used again — proposals are not
// served to others nor relayed (a decided state carries the proposal's content, certified by the
// precommits), so there is nothing a checked signature would add.
func (nd *Node) checkConsensusFrom(raw []byte, from int) (any, error) {
	var env wire.Envelope
	if err := wire.Unmarshal(raw, &env, nd.lim); err != nil {
		return nil, fmt.Errorf("%w: %w", errEnvelope, err)
	}
	if env.Type != wire.TypeProposal && env.Type != wire.TypeVote {
		return nil, fmt.Errorf("%w: type %v on the consensus channel", errEnvelope, env.Type)
	}
	env, m, verified, err := nd.openEnvelope(raw, env.Type, env.Type == wire.TypeVote, from)
	if err != nil {
		return nil, err
	}
	signer := int(env.Signer)
	switch b := m.(type) {
	case *wire.Proposal:
		if b.Run != nd.run {
			return nil, errNotMine
		}
		if method.Leader(nd.gen.Spec.Seed, b.Height, b.Round, nd.n) != signer {
			return nil, nd.memberListCheck(b.Height, fmt.Errorf("%w: member %d at %d/%d", errLeader, signer, b.Height, b.Round))
		}
		if err := nd.inWindow(b.Height, signer); err != nil {
			return nil, err
		}
		return &proposalIn{p: b, signer: signer}, nil
	case *wire.Vote:
		if b.Run != nd.run {
			return nil, errNotMine
		}
		if err := nd.inWindow(b.Height, signer); err != nil {
			return nil, err
		}
		return &voteIn{v: b, env: env, raw: raw, unverified: !verified}, nil
	}
	return nil, errEnvelope
}

// readTopic forwards validated messages from other peers to the event loop.
func (nd *Node) readTopic(ctx context.Context, t p2p.Topic) {
	for {
		m, err := t.NextMessage(ctx)
		if err != nil {
			return
		}
		if m.Local || m.Decoded == nil {
			continue
		}
		select {
		case nd.in <- m.Decoded:
		case <-ctx.Done():
			return
		}
	}
}

// publish signs body as this member and sends it to every other member directly (see direct.go); it
// returns the signed bytes.
func (nd *Node) publish(body wire.Message) ([]byte, wire.Envelope, error) {
	env, err := wire.SignMessage(nd.cfg.Key, uint32(nd.self), body)
	if err != nil {
		return nil, env, err
	}
	raw, err := wire.Marshal(&env)
	if err != nil {
		return nil, env, err
	}
	nd.broadcast(raw)
	return raw, env, nil
}

// toCompress converts a wire vector to the algo representation (sharing the slices).
func toCompress(v wire.Vector) compress.Vector {
	return compress.Vector{Dim: int(v.Dim), Index: v.Index, Values: v.Values}
}

func toWire(v compress.Vector) wire.Vector {
	return wire.Vector{Dim: uint32(v.Dim), Index: v.Index, Values: v.Values}
}
