// Package roster keeps the member list of an open run as it changes: the genesis members, then one
// epoch per decided membership change, each proved by the decided proposal that carried the operations
// and the certificate of its decision.
//
// May import: p2p, p2p/wire and the standard library (and, until issue 13 moves them behind p2p,
// libp2p's key and peer ID types); not package node. Layering checked by internal/arch.
//
// Everything random about round k — coin, sample, leader — is drawn over the member list in force at
// round k, so that list must itself be agreed and fixed before round k starts. A change decided at
// height h therefore takes effect at round h + ActivationDelay: every peer that works on a round has
// decided every change that can affect it. A peer that knows only the genesis can check a whole chain
// of changes on its own (each certificate against the members in force at its height), so a newcomer
// never has to trust the peer that serves it the current member list.
//
// The package is pure: no I/O, no clocks. It also owns the history's persisted form (EncodeProofs,
// DecodeProofs); the node writes and reads the file. Checks a validator can only make from its own observations
// (whether a member really went silent) are left to the caller.
package roster
