package node

import "github.com/byzpp/byzpp/consensus"

// voteSlot is one (voter, type, height, attempt): a member may sign one vote per slot.
type voteSlot struct {
	voter   int
	typ     consensus.VoteType
	height  uint64
	attempt uint32
}

// doubleVotes remembers the value of every vote seen in the last few heights, so that two signed
// votes for one slot are caught even when the second arrives after this peer moved on (the consensus
// machine only compares votes of the height it is at, and a fast decision leaves the late one
// unexamined). Owned by the event loop.
type doubleVotes struct {
	seen map[voteSlot]consensus.ValueID
}

// doubleVoteHeights is how many decided heights stay checked.
const doubleVoteHeights = 2

// checkDoubleVote records v and names its voter an equivocator if it signed a different value for the
// same slot. Votes outside [current − doubleVoteHeights, current + maxFutureHeights] are not kept.
func (nd *Node) checkDoubleVote(v consensus.Vote) {
	cur := nd.eng.Round()
	if v.Height+doubleVoteHeights < cur || v.Height > cur+maxFutureHeights || v.Voter == nd.self {
		return
	}
	d := &nd.byz.votes
	if d.seen == nil {
		d.seen = map[voteSlot]consensus.ValueID{}
	}
	slot := voteSlot{voter: v.Voter, typ: v.Type, height: v.Height, attempt: v.Round}
	prev, ok := d.seen[slot]
	switch {
	case !ok:
		// Bound the map: attempts per height are few in practice, but a Byzantine voter can sign any
		// attempt number; drop old heights first, and refuse to grow past the bound.
		if len(d.seen) >= 64*nd.n*(maxFutureHeights+doubleVoteHeights+1) {
			for s := range d.seen {
				if s.height+doubleVoteHeights < cur {
					delete(d.seen, s)
				}
			}
			if len(d.seen) >= 64*nd.n*(maxFutureHeights+doubleVoteHeights+1) {
				return
			}
		}
		d.seen[slot] = v.Value
	case prev != v.Value:
		nd.loop.evidence++
		nd.log.Warn("double vote", "member", v.Voter, "height", v.Height, "attempt", v.Round, "type", v.Type)
		nd.markFaulty(v.Voter)
	}
}
