package node

import (
	"sync"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p/wire"
)

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
// unexamined, and the gossip check ignores votes of decided heights). The event loop records accepted
// votes, the gossip validators stale ones, hence the mutex.
type doubleVotes struct {
	mu   sync.Mutex
	seen map[voteSlot]consensus.ValueID
}

// doubleVoteHeights is how many decided heights stay checked.
const doubleVoteHeights = 2

// checkDoubleVote records v and names its voter an equivocator if it signed a different value for the
// same slot. Votes outside [current − doubleVoteHeights, current + maxFutureHeights] are not kept.
// It reports whether v conflicts with a recorded vote.
func (nd *Node) checkDoubleVote(v consensus.Vote) bool {
	if !nd.recordVote(v) {
		return false
	}
	nd.log.Warn("double vote", "voter", v.Voter, "height", v.Height, "attempt", v.Round, "type", v.Type)
	nd.markFaulty(v.Voter)
	return true
}

// recordVote records v and reports whether the same slot already holds a different value.
func (nd *Node) recordVote(v consensus.Vote) bool {
	cur := nd.current.Load()
	if v.Height+doubleVoteHeights < cur || v.Height > cur+maxFutureHeights || v.Voter == nd.self {
		return false
	}
	d := &nd.byz.votes
	d.mu.Lock()
	defer d.mu.Unlock()
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
				return false
			}
		}
		d.seen[slot] = v.Value
	case prev != v.Value:
		return true
	}
	return false
}

// checkStaleVote runs the double-vote check on a signed vote the gossip check found stale (called
// from a validator, after the envelope's signature was verified).
func (nd *Node) checkStaleVote(env *wire.Envelope) {
	if env.Type != wire.TypeVote {
		return
	}
	m, err := env.Open(nd.lim)
	if err != nil {
		return
	}
	if v, ok := m.(*wire.Vote); ok && v.Run == nd.run {
		nd.checkDoubleVote(consensus.Vote{Type: consensus.VoteType(v.Type), Height: v.Height, Round: v.Round,
			Value: consensus.ValueID(v.Value), Voter: int(env.Signer)})
	}
}
