package node

import (
	"errors"
	"fmt"

	"github.com/byzpp/byzpp/node/relay"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Relay frames arriving on direct streams (reader goroutines). What needs only the pairwise keys and
// the wire limits (decoding, MACs, who may send what) is relay.Checker's; a vote that passes is then
// checked as one from its signer (checkSignerVote).

// checker checks relay frames with our pairwise keys (not nil).
func (nd *Node) checker() *relay.Checker {
	return &relay.Checker{Keys: nd.pairs, Self: nd.self, N: nd.n, Lim: nd.lim}
}

// checkRelayFrame checks a relay frame from member sender: an authenticated vote sent to us as leader
// (the sender must be its signer: the channel authenticates it), or a bundle whose votes each carry
// a MAC for us. It returns nil, nil when nothing in it is usable.
func (nd *Node) checkRelayFrame(raw []byte, sender int) (any, error) {
	kind, err := wire.RelayFrameKind(raw)
	if err != nil {
		return nil, err
	}
	if nd.pairs == nil {
		return nil, fmt.Errorf("%w: no pairwise keys", errEnvelope)
	}
	switch kind {
	case wire.KindAuthVote:
		c, err := nd.checker().AuthVote(raw, sender)
		if err != nil {
			return nil, err
		}
		in, err := nd.checkSignerVote(c.Raw, c.Env, sender, c.Digest)
		if errors.Is(err, errStale) && in != nil {
			in.stale = true // too late to count here, not too late for the others (relayIntake decides)
			err = nil
		}
		if err != nil {
			return nil, err
		}
		in.auth = c.MACs
		return in, nil
	case wire.KindVoteHandover:
		return nd.checkHandover(raw, sender) // handover.go
	case wire.KindAuthRound:
		return nd.checkAuthRound(raw, sender) // speculate.go
	case wire.KindRoundBundle:
		return nd.checkRoundBundle(raw, sender) // speculate.go
	case wire.KindVoteBundle:
		votes, err := nd.checker().Bundle(raw, sender, nd.relayDropped("relayed vote dropped", "leader", sender))
		if err != nil {
			return nil, err
		}
		nd.bundlesIn.Add(1)
		var out []*voteIn
		for _, c := range votes {
			in, err := nd.checkSignerVote(c.Raw, c.Env, c.Voter, c.Digest)
			if err != nil {
				continue // stale, future or another run: as for a vote sent directly
			}
			out = append(out, in)
		}
		if len(out) == 0 {
			return nil, nil
		}
		return &bundleIn{votes: out}, nil
	}
	return nil, errEnvelope
}

// relayDropped logs a vote a relay frame from sender carried that relay.Checker dropped, and counts
// a MAC that failed (Status.RelayMACFailures).
func (nd *Node) relayDropped(msg, role string, sender int) func(voter int, err error) {
	return func(voter int, err error) {
		if voter < 0 {
			nd.log.Debug(msg, role, sender, "err", err)
			return
		}
		if errors.Is(err, relay.ErrMAC) {
			nd.macFailures.Add(1)
		}
		nd.log.Debug(msg, role, sender, "voter", voter, "err", err)
	}
}
