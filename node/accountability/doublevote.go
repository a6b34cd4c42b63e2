package accountability

import "github.com/byzpp/byzpp/consensus"

// voteSlot is one (voter, type, attempt) of a height: a member may sign one vote per slot.
type voteSlot struct {
	voter   int
	typ     consensus.VoteType
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
// Slots are kept per height, so that leaving a height forgets it in one step: a map that only ever
// grew to its bound made every vote a cache miss (1.5% of a peer's CPU at n = 20).
func (b *Book) recordVoteLocked(v consensus.Vote) bool {
	cur := b.current()
	if v.Height+DoubleVoteHeights < cur || v.Height > cur+b.future || v.Voter == b.self {
		return false
	}
	for h := range b.votes {
		if h+DoubleVoteHeights < cur {
			delete(b.votes, h) // at most future+DoubleVoteHeights+1 heights are held
		}
	}
	at := b.votes[v.Height]
	slot := voteSlot{voter: v.Voter, typ: v.Type, attempt: v.Round}
	prev, ok := at[slot]
	switch {
	case !ok:
		// Bound a height's slots: attempts per height are few in practice, but a Byzantine voter can
		// sign any attempt number.
		if len(at) >= 64*b.n {
			return false
		}
		if at == nil {
			at = map[voteSlot]consensus.ValueID{}
			b.votes[v.Height] = at
		}
		at[slot] = v.Value
	case prev != v.Value:
		return true
	}
	return false
}
