package accountability

import "github.com/byzpp/byzpp/consensus"

// voteSlot is one (voter, type, height, attempt): a member may sign one vote per slot.
type voteSlot struct {
	voter   int
	typ     consensus.VoteType
	height  uint64
	attempt uint32
}

// DoubleVoteHeights is how many decided heights stay checked for double votes.
const DoubleVoteHeights = 2

// DoubleVote records v in the record of recent votes and, if its voter signed a different value for
// the same slot, marks the voter faulty (named Equivocate) and reports true. The record catches two
// signed votes for one slot even when the second arrives after this peer moved on (the consensus
// machine only compares votes of the height it is at, a fast decision leaves the late one unexamined,
// and the gossip check ignores votes of decided heights). Votes outside [current − DoubleVoteHeights,
// current + FutureHeights], and this peer's own, are not kept.
func (b *Book) DoubleVote(v consensus.Vote) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.recordVoteLocked(v) {
		return false
	}
	b.faulty[v.Voter] = true
	b.blameLocked(v.Voter, Equivocate)
	return true
}

// recordVoteLocked records v and reports whether the same slot already holds a different value.
func (b *Book) recordVoteLocked(v consensus.Vote) bool {
	cur := b.current()
	if v.Height+DoubleVoteHeights < cur || v.Height > cur+b.future || v.Voter == b.self {
		return false
	}
	slot := voteSlot{voter: v.Voter, typ: v.Type, height: v.Height, attempt: v.Round}
	prev, ok := b.votes[slot]
	switch {
	case !ok:
		// Bound the map: attempts per height are few in practice, but a Byzantine voter can sign any
		// attempt number; drop old heights first, and refuse to grow past the bound.
		bound := 64 * b.n * int(b.future+DoubleVoteHeights+1)
		if len(b.votes) >= bound {
			for s := range b.votes {
				if s.height+DoubleVoteHeights < cur {
					delete(b.votes, s)
				}
			}
			if len(b.votes) >= bound {
				return false
			}
		}
		b.votes[slot] = v.Value
	case prev != v.Value:
		return true
	}
	return false
}
