// Package amnesia keeps a restarted peer from contradicting votes it may have forgotten. A peer whose
// StateDir was damaged, or written before the machine restarted without a clean stop
// (node/storage's durability), may have lost the record of votes it signed and sent — the consensus
// state is persisted before every send precisely so that a restart never contradicts them. Voting
// again at such a height could contradict a forgotten vote, so an amnesiac peer sends no proposal or
// vote at any height it may have signed at before (Guard).
//
// That bound comes from the sign bound (node/storage's signbound.go): a height this peer promised
// itself, durably and before signing anything above it, never to sign above. It survives what the
// journal loses, so an amnesiac peer with a readable sign bound sits out exactly the heights up to it.
// Only when the sign bound itself is unreadable does the peer fall back on what it hears: the highest
// height any member was heard working on — far ahead of this peer's window too (Heights), since a
// peer that lost many heights of records hears the others only far ahead of where it restarted — and
// its own round, until its first commit or adoption fixes the bound. It still follows the others'
// decisions (a decision needs a quorum of correctly signed precommits, never its own unsent votes).
// From the first height above the bound it votes again. The cost is liveness only: it counts as
// silent for those heights.
//
// The node tells the Guard what it hears and decides and asks it before each of its consensus
// messages leaves. Guard is owned by the event loop; Heights is safe from any goroutine.
//
// Imports: the standard library only — no consensus, no network, no other part of node. Layering is
// checked by internal/arch.
package amnesia
