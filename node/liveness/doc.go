// Package liveness is one peer's own view of which members it may stop waiting for: members presumed
// dead (nothing heard from them for a while) and leaders distrusted (they led badly, or moved nothing
// as relay leader, within the last DistrustHeights heights). Each answer is a local choice of when to
// stop waiting, which Tendermint leaves to each member: a wrong one costs an attempt or a member's
// message in one round, never agreement.
//
// The node tells the View what it heard and judged (Heard, Distrust, DistrustRelay) and asks it
// (PresumedDead, Distrusted, RelayDistrusted); time is the event loop's tick count, passed in. The
// View is not safe for concurrent use: the event loop owns it.
//
// Imports: the standard library only — no consensus, no network, no other part of node. Layering is
// checked by internal/arch.
package liveness
