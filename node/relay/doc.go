// Package relay owns the mechanics of the vote relay (the protocol and why it is safe are described
// in node/doc.go and node/relay.go): in attempt 0 of a height a member sends its vote only to the
// step's relay leader with an authenticator, one MAC per member, and the leader forwards the step's
// votes to every member in one bundle each.
//
// It owns:
//   - the pairwise keys and MACs (pairkey.go): X25519 from the members' Ed25519 keys, HKDF bound to
//     the run and the pair, HMAC-SHA256 MACs and authenticators;
//   - the signature cache (sigcache.go): envelopes already accepted, verified or authenticated only;
//   - the leader's bookkeeping (state.go, State): per vote step who voted, the quorum, the votes
//     pending and how many per voter, when to flush (quorum, the one-tick clock, old steps), our own
//     votes awaiting progress and when they fall back to all-to-all, the heights whose leader was
//     heard, the round messages queued for the bundles, and which votes go to which member;
//   - the pure part of handing late votes over (handover.go): which votes go, and adopting them once;
//   - the receive-side checks of relay frames that need only keys and limits (check.go, Checker):
//     decoding, who may send what, MACs.
//
// The node decides whether a vote is relayed (who leads, the configuration, the attacks), checks the
// votes that pass as votes from their signers, and sends what this package returns; the counters it
// reports are in State.Stats.
//
// Imports: the standard library, consensus (vote types and steps) and p2p/wire (frames, MACs,
// limits) only — no libp2p (keys arrive as raw Ed25519 bytes, peer IDs as strings), no host, no
// other part of node. Layering is checked by internal/arch.
package relay
