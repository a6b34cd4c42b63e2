package node

import (
	"context"
	"errors"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/relay"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Handing late votes over. A relay leader forwards each vote step in one bundle per member once it
// holds a quorum; the votes that reach it later go out at the end of their tick. They no longer help
// anyone decide: they tell the others that their voters were present (blame.go), and they complete
// certificates. Yet sending them cost a bundle per member, a third of all bundles on a 20-peer
// loopback testnet. So a relay leader hands its late votes to the member that relays the precommits
// of its current height, whose quorum flush is the next one due — one message, each vote with its
// whole authenticator (wire.VoteHandover) — and that member forwards them to every member with its
// own next bundles (each vote with that member's MAC, as for the votes sent to it directly).
//
// Why it stays safe: a MAC is made by the voter for one receiver, and whoever carries it cannot
// forge or alter it; the receiver checks it as for any relayed vote. A Byzantine next leader can drop
// handed-over votes, which any leader could already do with the votes sent to it; late votes decide
// nothing, and blame for silence needs a member absent from every vote of a height (its earlier vote,
// in the quorum bundle, is not late). A vote is handed over at most once: the leader it was handed
// to forwards it to everyone whatever happens next.

// handoverIn is a handover whose votes' MACs held for us.
type handoverIn struct {
	votes []*voteIn
}

// handOver sends the member that relays the precommits of the current height (the next flush to come:
// relay.go's relayLeader) the late votes in out — of this height or below, that reached us after
// their step's quorum went out, not handed to us — and returns the rest, which still go to every
// member (relay.Handover chooses). (Late prevotes of the current height, held by its prevote relay,
// were the commonest: a third of all bundles at n = 20 before they went this way.)
func (nd *Node) handOver(out []relay.Vote) []relay.Vote {
	cur := nd.eng.Round()
	to := nd.relayLeader(consensus.Vote{Type: consensus.Precommit, Height: cur})
	if to == nd.self || nd.cfg.DirectVotes || nd.n < nd.relayMin || nd.pairs == nil || !nd.pairs.OK(to) {
		return out
	}
	h, keep := relay.Handover(out, cur, wire.MaxBundleVotes(nd.lim), nd.pairs)
	if len(h.Votes) == 0 {
		return out
	}
	frame, err := h.Marshal()
	if err != nil {
		nd.log.Debug("encoding a handover", "to", to, "err", err)
		return out
	}
	nd.sendTo(to, frame)
	nd.loop.relay.Stats.HandoversOut++
	return keep
}

// checkHandover checks a handover frame (reader goroutines): every vote whose MAC for us holds is
// kept, as a vote from its signer, with its authenticator for forwarding.
func (nd *Node) checkHandover(raw []byte, sender int) (any, error) {
	votes, err := nd.checker().Handover(raw, nd.relayDropped("handed-over vote dropped", "from", sender))
	if err != nil {
		return nil, err
	}
	var out []*voteIn
	for _, c := range votes {
		in, err := nd.checkSignerVote(c.Raw, c.Env, c.Voter, c.Digest)
		if errors.Is(err, errStale) && in != nil {
			in.stale, err = true, nil // late here too, but it still goes to the others
		}
		if err != nil {
			continue
		}
		in.auth = c.MACs
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return &handoverIn{votes: out}, nil
}

// adoptHandover counts the handed-over votes and queues them for our next bundles.
func (nd *Node) adoptHandover(ctx context.Context, e *handoverIn) {
	for _, in := range e.votes {
		voter := int(in.env.Signer)
		rv := relay.Vote{Group: relay.Group{Height: in.v.Height, Type: in.vote().Type}, Voter: voter, Raw: in.raw, MACs: in.auth}
		if voter == nd.self {
			rv.MACs = nil // our own vote goes over our own channel
		}
		if nd.loop.relay.Adopt(rv, envelopeDigest(in.raw), nd.n) {
			nd.relayPending()
		}
		if !in.stale && voter != nd.self {
			nd.onVoteIn(ctx, in)
		}
	}
}
