package node

import (
	"sync/atomic"

	"github.com/byzpp/byzpp/consensus"
)

// Amnesia. A peer whose StateDir was damaged (persist.go), or written before the machine restarted
// without a clean stop (durability.go), may have lost the record of votes it signed and sent — the
// consensus state is persisted before every send precisely so that a restart never contradicts
// them. Voting again at such a height could contradict a forgotten vote, so an amnesiac peer sends
// no proposal or vote at any height it may have signed at before.
//
// That bound comes from the sign bound (signbound.go): a height this peer promised itself, durably
// and before signing anything above it, never to sign above. It survives what the journal loses, so
// an amnesiac peer with a readable sign bound sits out exactly the heights up to it. Only when the
// sign bound itself is unreadable does the peer fall back on what it hears: the highest height any
// member was heard working on — far ahead of this peer's window too (heardHeights), since a peer
// that lost many heights of records hears the others only far ahead of where it restarted — and its
// own round, until its first commit or adoption fixes the bound. It still follows the others'
// decisions (a decision needs a quorum of correctly signed precommits, never its own unsent votes).
// From the first height above the bound it votes again. The cost is liveness only: it counts as
// silent for those heights.
type amnesia struct {
	active  bool
	frozen  bool   // the bound is fixed (a durable sign bound, or the first commit or adoption)
	through uint64 // highest height at which it must not sign
}

// startAmnesia turns amnesia on at New. bound is the persisted sign bound (ok false: unreadable or
// absent), which, when known, is the whole answer.
func (a *amnesia) start(bound uint64, ok bool) {
	a.active = true
	if ok {
		a.through, a.frozen = bound, true
	}
}

// abstains reports whether m, one of this peer's consensus messages, must not leave (or be signed).
func (nd *Node) abstains(m consensus.Message) bool {
	a := &nd.amnesia
	if !a.active {
		// Output consensus produced before the amnesia ended may still be pending for a height at or
		// below the bound (a proposal refused just before an adoption): never sign there either.
		return a.through > 0 && ownHeight(m) <= a.through
	}
	if !a.frozen {
		a.through = max(a.through, nd.loop.maxSeen, nd.heard.highest(), nd.eng.Round())
	}
	return ownHeight(m) <= a.through
}

// ownHeight is the height of one of our consensus messages.
func ownHeight(m consensus.Message) uint64 {
	if m.Kind == consensus.KindProposal {
		return m.Proposal.Height
	}
	return m.Vote.Height
}

// amnesiaAdvance fixes the bound at the first commit or adoption (before moving to height k) and
// ends the amnesia once k is above it.
func (nd *Node) amnesiaAdvance(k uint64) {
	a := &nd.amnesia
	if !a.active {
		return
	}
	if !a.frozen {
		a.through = max(a.through, nd.loop.maxSeen, nd.heard.highest(), k-1)
		a.frozen = true
	}
	if k > a.through {
		a.active = false
		nd.log.Info("voting again after a damaged StateDir", "height", k)
	}
}

// heardHeights is, per member, the highest height of an authenticated consensus or round message
// heard from it, whether or not inside this peer's window. Written by validators and stream handlers
// on any goroutine, read by the event loop.
type heardHeights struct{ by []atomic.Uint64 }

func newHeardHeights(n int) heardHeights { return heardHeights{by: make([]atomic.Uint64, n)} }

func (h *heardHeights) note(member int, height uint64) {
	if member < 0 || member >= len(h.by) {
		return
	}
	a := &h.by[member]
	for {
		old := a.Load()
		if height <= old || a.CompareAndSwap(old, height) {
			return
		}
	}
}

// highest is the highest height heard from any member.
func (h *heardHeights) highest() uint64 {
	var m uint64
	for i := range h.by {
		m = max(m, h.by[i].Load())
	}
	return m
}
