// Package votestore keeps the signed vote envelopes a peer holds — for certificates, relays and
// rebroadcasts — bounded per voter and height, so that no member can crowd out another's votes.
//
// May import: consensus and the standard library only; not package node. Layering checked by
// internal/arch.
//
// A vote flood (validly signed votes for attempts nobody uses, thousands a second) once filled a
// store with one size cap shared by every voter: honest precommits were still counted by consensus
// but no longer kept, no certificate could be built, and the run halted for good. Here each (height,
// voter) has its own allowance; a voter over it loses its own oldest attempt's votes, never anyone
// else's. An honest voter signs two votes per attempt, so an allowance of PerVoter votes keeps every
// vote of its last PerVoter/2 attempts at the height — the ones a certificate of a decision needs.
//
// It imports consensus for the vote type and nothing else of the project; it does no I/O and is not
// safe for concurrent use (the node's event loop owns it).
package votestore
