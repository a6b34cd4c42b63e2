package node

import "github.com/byzpp/byzpp/consensus"

// Amnesia is package amnesia's (nd.amnesia, nd.heard): a peer that may have forgotten votes it sent
// — New found its StateDir damaged (persist.go), or written before a machine restart without a clean
// stop (node/storage) — sends no proposal or vote at a height it may have signed at. The bound, when
// no durable sign bound fixes it, follows the highest height this peer has heard of or is at.

// abstains reports whether m, one of this peer's consensus messages, must not leave (or be signed).
func (nd *Node) abstains(m consensus.Message) bool {
	a := &nd.amnesia
	if a.Unfixed() {
		a.Raise(max(nd.loop.maxSeen, nd.heard.Highest(), nd.eng.Round()))
	}
	return a.Abstains(ownHeight(m))
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
	if !a.Active() {
		return
	}
	if a.Advance(k, max(nd.loop.maxSeen, nd.heard.Highest(), k-1)) {
		nd.log.Info("voting again after a damaged StateDir", "height", k)
	}
}
