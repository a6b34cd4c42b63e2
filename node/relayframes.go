package node

import (
	"errors"
	"fmt"

	"github.com/byzpp/byzpp/p2p/wire"
)

// Relay frames arriving on direct streams (reader goroutines).

var errMAC = errors.New("relayed vote: MAC does not hold")

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
		a, err := wire.DecodeAuthVote(raw, nd.lim)
		if err != nil {
			return nil, err
		}
		if len(a.MACs) != nd.n {
			return nil, fmt.Errorf("%w: %d MACs for %d members", errEnvelope, len(a.MACs), nd.n)
		}
		env, err := nd.voteEnvelope(a.Envelope)
		if err != nil {
			return nil, err
		}
		if int(env.Signer) != sender {
			return nil, fmt.Errorf("%w: vote of %d sent by %d", errSender, env.Signer, sender)
		}
		in, err := nd.checkSignerVote(a.Envelope, env, sender, envelopeDigest(a.Envelope))
		if errors.Is(err, errStale) && in != nil {
			in.stale = true // too late to count here, not too late for the others (relayIntake decides)
			err = nil
		}
		if err != nil {
			return nil, err
		}
		in.auth = a.MACs
		return in, nil
	case wire.KindVoteHandover:
		return nd.checkHandover(raw, sender) // handover.go
	case wire.KindAuthRound:
		return nd.checkAuthRound(raw, sender) // speculate.go
	case wire.KindRoundBundle:
		return nd.checkRoundBundle(raw, sender) // speculate.go
	case wire.KindVoteBundle:
		b, err := wire.DecodeVoteBundle(raw, nd.lim)
		if err != nil {
			return nil, err
		}
		nd.bundlesIn.Add(1)
		var out []*voteIn
		for _, rv := range b.Votes {
			env, err := nd.voteEnvelope(rv.Envelope)
			if err != nil {
				nd.log.Debug("relayed vote dropped", "leader", sender, "err", err)
				continue
			}
			voter := int(env.Signer)
			if voter == nd.self {
				continue
			}
			d := envelopeDigest(rv.Envelope)
			// The leader's own vote needs no MAC: the leader's channel authenticates it.
			if voter != sender && !nd.pairs.check(voter, d, rv.MAC) {
				nd.macFailures.Add(1)
				nd.log.Debug("relayed vote dropped", "leader", sender, "voter", voter, "err", errMAC)
				continue
			}
			in, err := nd.checkSignerVote(rv.Envelope, env, voter, d)
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

// voteEnvelope decodes a vote envelope of a member.
func (nd *Node) voteEnvelope(raw []byte) (wire.Envelope, error) {
	var env wire.Envelope
	if err := wire.Unmarshal(raw, &env, nd.lim); err != nil {
		return env, fmt.Errorf("%w: %w", errEnvelope, err)
	}
	if env.Type != wire.TypeVote || int(env.Signer) >= nd.n {
		return env, fmt.Errorf("%w: %v from %d where a vote was expected", errEnvelope, env.Type, env.Signer)
	}
	return env, nil
}
