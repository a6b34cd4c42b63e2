package node

import "github.com/byzpp/byzpp/consensus"

// Amnesia. A peer whose StateDir was damaged (persist.go), or written before the machine restarted
// without a clean stop (durability.go), may have lost the record of votes it signed and sent — the
// consensus state is persisted before every send precisely so that a restart never contradicts them. Voting again at such a height could contradict a forgotten vote.
// So an amnesiac peer sends no proposal or vote at any height it may have voted at before, which it
// bounds by the highest height it hears others work on (nd.loop.maxSeen: it cannot have reached a
// height no honest peer reached) until its first commit or adoption, and by its own round. It still
// follows the others' decisions: a decision needs a certificate of a quorum of signed precommits this
// peer holds (lazycert.go), and its own unsent votes are never among them. From the first height
// above that bound it votes again. The cost is liveness only: it counts as silent for those heights.
type amnesia struct {
	active  bool
	frozen  bool   // the bound is fixed (after the first commit or adoption)
	through uint64 // highest height at which it must not sign
}

// abstains reports whether m, one of this peer's consensus messages, must not leave (or be signed).
func (nd *Node) abstains(m consensus.Message) bool {
	a := &nd.amnesia
	if !a.active {
		return false
	}
	if !a.frozen {
		a.through = max(a.through, nd.loop.maxSeen, nd.eng.Round())
	}
	h := m.Vote.Height
	if m.Kind == consensus.KindProposal {
		h = m.Proposal.Height
	}
	return h <= a.through
}

// amnesiaAdvance fixes the bound at the first commit or adoption (before moving to height k) and
// ends the amnesia once k is above it.
func (nd *Node) amnesiaAdvance(k uint64) {
	a := &nd.amnesia
	if !a.active {
		return
	}
	if !a.frozen {
		a.through = max(a.through, nd.loop.maxSeen, k-1)
		a.frozen = true
	}
	if k > a.through {
		a.active = false
		nd.log.Info("voting again after a damaged StateDir", "height", k)
	}
}
