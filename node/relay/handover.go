package relay

import "github.com/byzpp/byzpp/p2p/wire"

// Handing late votes over (the why is in node/handover.go): a relay leader hands the votes that
// reached it after their step's quorum went out to the member that relays the precommits of its
// current height, in one wire.VoteHandover, each vote with its whole authenticator; that member
// adopts them and forwards them with its own next bundles.

// Handover splits out, the votes a flush returned, at height cur: the late votes of this height or
// below that were not handed to us, at most limit of them, go into h (our own vote, which carries no
// authenticator, with the one keys make for it); keep are the rest, which still go to every member.
// A quorum is never handed over, even of a height decided by now: a member still deciding it needs
// it. out is left as it was.
func Handover(out []Vote, cur uint64, limit int, keys *PairKeys) (h wire.VoteHandover, keep []Vote) {
	keep = out[:0:0]
	for _, rv := range out {
		if rv.Group.Height > cur || rv.HandedOver || !rv.Late || len(h.Votes) == limit {
			keep = append(keep, rv)
			continue
		}
		macs := rv.MACs
		if macs == nil { // our own vote: it carried no authenticator to us
			macs = keys.Authenticator(EnvelopeDigest(rv.Raw))
		}
		h.Votes = append(h.Votes, wire.AuthVote{Envelope: rv.Raw, MACs: macs})
	}
	return h, keep
}

// Adopt queues a handed-over vote v (envelope digest d) for our next bundles among n members, once
// per digest and at most MaxAdopted(n); it reports whether it did. The caller starts the clock
// (Pending).
func (s *State) Adopt(v Vote, d [32]byte, n int) bool {
	if s.adoptedSeen == nil {
		s.adoptedSeen = map[[32]byte]bool{}
	}
	if s.adoptedSeen[d] || len(s.adopted) >= MaxAdopted(n) {
		return false
	}
	s.adoptedSeen[d] = true
	v.HandedOver = true
	s.adopted = append(s.adopted, v)
	return true
}

// Adopted are the handed-over votes waiting for our next bundles.
func (s *State) Adopted() []Vote { return s.adopted }
