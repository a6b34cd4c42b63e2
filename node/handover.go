package node

import (
	"context"
	"errors"

	"github.com/byzpp/byzpp/consensus"
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

// maxAdopted bounds the handed-over votes a member holds for forwarding between two of its flushes.
// Several relay leaders may hand over at once — at tens of heights a second a tick spans several
// heights, each with its own late votes — and a vote dropped here may be the only sign of its
// voter's presence at that height (blame.go), so the bound is generous; a handed-over vote is kept
// once (by envelope digest), so a member repeating a handover gains nothing.
func (nd *Node) maxAdopted() int { return 16 * nd.n }

// handOver sends the member that relays the precommits of the current height (the next flush to come:
// relay.go's relayLeader) the late votes in out — of this height or below, that reached us after
// their step's quorum went out, not handed to us — and returns the rest, which still go to every
// member. A quorum is never handed over, even of a height this peer has decided by now: a member still
// deciding it needs it. (Late prevotes of the current height, held by its prevote relay, were the
// commonest: a third of all bundles at n = 20 before they went this way.)
func (nd *Node) handOver(out []relayedVote) []relayedVote {
	cur := nd.eng.Round()
	to := nd.relayLeader(consensus.Vote{Type: consensus.Precommit, Height: cur})
	if to == nd.self || nd.cfg.DirectVotes || nd.n < nd.relayMin || nd.pairs == nil || !nd.pairs.ok[to] {
		return out
	}
	var h wire.VoteHandover
	keep := out[:0:0]
	limit := wire.MaxBundleVotes(nd.lim)
	for _, rv := range out {
		if rv.group.height > cur || rv.handedOver || !rv.late || len(h.Votes) == limit {
			keep = append(keep, rv)
			continue
		}
		macs := rv.macs
		if macs == nil { // our own vote: it carried no authenticator to us
			macs = nd.pairs.authenticator(envelopeDigest(rv.raw))
		}
		h.Votes = append(h.Votes, wire.AuthVote{Envelope: rv.raw, MACs: macs})
	}
	if len(h.Votes) == 0 {
		return out
	}
	frame, err := h.Marshal()
	if err != nil {
		nd.log.Debug("encoding a handover", "to", to, "err", err)
		return out
	}
	nd.sendTo(to, frame)
	nd.loop.relay.handoversOut++
	return keep
}

// checkHandover checks a handover frame (reader goroutines): every vote whose MAC for us holds is
// kept, as a vote from its signer, with its authenticator for forwarding.
func (nd *Node) checkHandover(raw []byte, sender int) (any, error) {
	h, err := wire.DecodeVoteHandover(raw, nd.lim)
	if err != nil {
		return nil, err
	}
	var out []*voteIn
	for _, a := range h.Votes {
		if len(a.MACs) != nd.n {
			continue
		}
		env, err := nd.voteEnvelope(a.Envelope)
		if err != nil {
			nd.log.Debug("handed-over vote dropped", "from", sender, "err", err)
			continue
		}
		voter := int(env.Signer)
		d := envelopeDigest(a.Envelope)
		if voter != nd.self && !nd.pairs.check(voter, d, a.MACs[nd.self]) {
			nd.macFailures.Add(1)
			nd.log.Debug("handed-over vote dropped", "from", sender, "voter", voter, "err", errMAC)
			continue
		}
		in, err := nd.checkSignerVote(a.Envelope, env, voter, d)
		if errors.Is(err, errStale) && in != nil {
			in.stale, err = true, nil // late here too, but it still goes to the others
		}
		if err != nil {
			continue
		}
		in.auth = a.MACs
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return &handoverIn{votes: out}, nil
}

// adoptHandover counts the handed-over votes and queues them for our next bundles.
func (nd *Node) adoptHandover(ctx context.Context, e *handoverIn) {
	rs := &nd.loop.relay
	if rs.adoptedSeen == nil {
		rs.adoptedSeen = map[[32]byte]bool{}
	}
	for _, in := range e.votes {
		voter := int(in.env.Signer)
		if d := envelopeDigest(in.raw); !rs.adoptedSeen[d] && len(rs.adopted) < nd.maxAdopted() {
			rs.adoptedSeen[d] = true
			rv := relayedVote{group: relayGroup{in.v.Height, in.vote().Type}, voter: voter, raw: in.raw,
				macs: in.auth, handedOver: true}
			if voter == nd.self {
				rv.macs = nil // our own vote goes over our own channel
			}
			rs.adopted = append(rs.adopted, rv)
			nd.relayPending()
		}
		if !in.stale && voter != nd.self {
			nd.onVoteIn(ctx, in)
		}
	}
}
