// Package statesync is how peers hand each other certified states, both sides of it.
//
// Serving (Server): what a peer serves to others — the round messages it holds, to members that lack
// one (msgs/1), and its latest decided state with the certificate of its decision (state/1). A
// decision is stored with a candidate certificate (a quorum of precommits, not all of whose
// signatures were checked) and certified — its signatures checked against the members in force at
// its height — when it is first served or restored (Latest, Certify), not at every decision. The
// event loop writes to the Server, stream handlers read from it; a false-state attacker (Liar, nil
// for an honest peer) turns what it serves into a lie.
//
// Fetching: a peer that fell behind asks another for its state (Fetch) and checks what comes back
// against its member history (Check). It adopts a state only once Check passes; a state that is not
// the certified one, or a short, forged or other-height certificate, is refused and the next member
// asked (node's sync.go).
//
// Imports: the standard library, algo/method (the state digest), node/roster (the member history
// certificates are checked against), p2p (the Network requests go over, the key type) and p2p/wire —
// no libp2p, no other part of node. Layering is checked by internal/arch.
package statesync
