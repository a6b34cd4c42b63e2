// Package engine is the training side of a peer, without I/O: it holds the agreed model state, collects
// the signed round messages of the current and next rounds, builds a leader's proposal, and re-derives
// any proposal bit for bit to decide whether to vote for it.
//
// May import: algo/ and the standard library only: no I/O, no consensus, no network; package node calls
// it. Layering checked by internal/arch.
//
// Every honest peer runs the same method.Step on the same signed inputs, so they all compute the same
// next state and the same digest; a leader that lies about the aggregate is caught because its state
// digest does not match. The engine is single-threaded: node/ calls it from its event loop.
package engine
