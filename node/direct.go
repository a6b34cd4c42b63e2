package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/accountability"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Dissemination. An honest member sends its round messages, proposals, votes and relays straight to
// every other member over p2p direct streams (one long-lived stream per peer, writes batched), not over
// gossipsub: with every member connected to every other, gossip's flood publish already reached all of
// them and its mesh forwarding only added duplicates — measured on a 20-peer loopback testnet, network
// send/receive and gossipsub bookkeeping were over 40% of a peer's CPU. The gossip topics stay joined:
// what arrives there (a Byzantine member's forgeries, messages from older peers) is checked as before.
//
// Lazy verification. A direct message's sender is authenticated by the connection's secure channel, so
// a vote that arrives directly from its own signer is known to come from that member before its
// signature is checked. Consensus may count it at once — a member that signs garbage over its own
// authenticated channel only hurts itself — and the signature is checked when the vote goes into a
// certificate (only as many as the quorum needs) or is relayed to others. Votes relayed by a third
// member are verified on arrival; a proposal from its proposer is never checked (see
// checkConsensusFrom); a round message from its author is stored unchecked and checked before it is
// served to others, proposed or named as censored (lazyround.go).
// A signature checked once is never checked again: the loop remembers it with the stored envelope.

// protoDirect carries every protocol message an honest member sends (envelopes of any type).
const protoDirect = "direct/1"

// joinDirect starts receiving direct messages; messages go to the event loop until ctx ends.
func (nd *Node) joinDirect(ctx context.Context) error {
	member := make(map[p2p.PeerID]int, len(nd.peers))
	for i, p := range nd.peers {
		member[p] = i
	}
	handler := func(from p2p.PeerID, raw []byte) {
		i, ok := member[from]
		if !ok || i == nd.self {
			return // only members speak this protocol
		}
		var in any
		var err error
		if wire.IsRelayFrame(raw) {
			in, err = nd.checkRelayFrame(raw, i) // relay.go
			if res, _ := verdict(err); err != nil && res == p2p.Reject && nd.mayBeBehindAChange() {
				err = fmt.Errorf("%w: %w", errOtherEpoch, err) // membership.go: not blamed
			}
		} else {
			in, err = nd.checkDirect(raw, i)
		}
		if err == nil && in == nil {
			return
		}
		if err != nil {
			res, reason := verdict(err)
			nd.log.Debug("direct message dropped", "from", i, "reason", reason, "err", err)
			if res == p2p.Reject {
				// Invalid over its own authenticated channel: its doing (abuse.go). p2p counts it too.
				nd.cfg.Host.ReportInvalid(from, protoDirect, reason)
				nd.offence(i, accountability.InvalidFrame)
			}
			return
		}
		select {
		case nd.in <- in:
		case <-ctx.Done():
		}
	}
	// Members only, checked before a byte of a stream (and of each message) is read.
	if err := nd.cfg.Host.HandleDirect(protoDirect, nd.lim.MaxMessage, handler, p2p.Allow(nd.isMember)); err != nil {
		return fmt.Errorf("%w: %w", ErrFatal, err)
	}
	return nil
}

func (nd *Node) leaveDirect() { nd.cfg.Host.UnhandleDirect(protoDirect) }

// checkDirect checks a message that member sender sent us directly as on gossip, but without the
// signature when sender signed it (see lazy verification above and lazyround.go).
func (nd *Node) checkDirect(raw []byte, sender int) (any, error) {
	var env wire.Envelope
	if err := wire.Unmarshal(raw, &env, nd.lim); err != nil {
		return nil, fmt.Errorf("%w: %w", errEnvelope, err)
	}
	switch {
	case env.Type == wire.TypeRound:
		in, err := nd.checkRoundFrom(raw, true, sender) // lazyround.go: unchecked when sender is the author
		if err != nil {
			return nil, err
		}
		return in, nil
	case env.Type == wire.TypeVote && int(env.Signer) == sender:
		in, err := nd.checkSignerVote(raw, env, sender, envelopeDigest(raw))
		if err != nil {
			return nil, err // not a typed nil *voteIn in the interface
		}
		return in, nil
	}
	return nd.checkConsensusFrom(raw, sender) // a proposal from its proposer: unchecked too
}

// checkSignerVote checks a vote envelope known to come from its signer — over the signer's own
// authenticated channel, or relayed with a MAC of the signer that holds (relay.go) — without its
// signature. d is the SHA-256 of raw. A stale vote returns errStale together with the decoded vote.
func (nd *Node) checkSignerVote(raw []byte, env wire.Envelope, signer int, d [32]byte) (*voteIn, error) {
	m, err := env.Open(nd.lim)
	if err != nil {
		return nil, err
	}
	v, ok := m.(*wire.Vote)
	if !ok {
		return nil, errEnvelope
	}
	if v.Run != nd.run {
		return nil, errNotMine
	}
	in := &voteIn{v: v, env: env, raw: raw}
	if err := nd.inWindow(v.Height, signer); err != nil {
		if errors.Is(err, errStale) {
			nd.acct.ClearSilent(signer, v.Height) // a late vote is not silence
			return in, err
		}
		return nil, err
	}
	_, verified := nd.sigs.Lookup(d)
	nd.sigs.Add(d, v.Height, false)
	in.unverified = !verified
	return in, nil
}

// broadcast sends raw to every other member directly. Failures only cost that copy: consensus
// rebroadcasts its messages and peers fetch missing round messages by digest.
func (nd *Node) broadcast(raw []byte) {
	for i := range nd.n {
		if i != nd.self {
			nd.sendTo(i, raw) // outbox.go
		}
	}
}

// checkedVote returns the stored envelope of a vote after making sure its signature holds, checking
// it at most once. A vote whose signature fails is forgotten and its signer marked faulty: it sent a
// vote it did not sign over its own authenticated channel.
func (nd *Node) checkedVote(k voteKey) ([]byte, bool) {
	raw, unverified, ok := nd.loop.votes.Get(k.vote)
	if !ok || !unverified {
		return raw, ok
	}
	if !nd.checkVotes([]voteKey{k})[0] { // lazycert.go: a bad one is forgotten, named and retracted
		return nil, false
	}
	return raw, true
}

// relayVote forwards another member's vote (checked first: we never pass on a signature we have not
// verified) to every other member.
func (nd *Node) relayVote(v consensus.Vote) {
	if raw, ok := nd.checkedVote(voteKey{voter: v.Voter, vote: v}); ok {
		nd.broadcast(raw)
	}
}
