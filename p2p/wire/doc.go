// Package wire is byzpp's versioned network format: the messages peers exchange, their msgpack
// encoding, and the signed Envelope that carries a member's message.
//
// May import: the standard library, libp2p's key types and msgpack (the module's only msgpack user);
// nothing else of the project. Layering checked by internal/arch.
//
// # Messages
//
// Signed by a member, inside an Envelope: RoundMsg (a full gradient or a compressed gradient
// difference for round k), Announce (the digest of a RoundMsg too large to gossip), Proposal and Vote
// (the BFT consensus on which round messages a round aggregates). Self-authenticating: Certificate (a
// quorum's precommit signatures in compact form). Request/response over direct streams: StateRequest /
// StateResponse (catch up on the agreed model state) and MsgRequest / MsgResponse (fetch included
// envelopes one lacks). Relay frames over direct streams (relay.go, hand-written binary, not msgpack):
// AuthVote (a vote envelope with one pairwise MAC per member, sent to the attempt's leader) and
// VoteBundle (the votes a leader forwards to one member, each with that member's MAC).
//
// # Encoding
//
// Every message is a msgpack array of fields in a fixed order, encoded and decoded by hand. msgpack
// v5.4.1's reflective decoder allocates whatever length a header claims, so network bytes never go
// through it: each length header is read with DecodeArrayLen / DecodeBytesLen and checked against Limits
// and against the bytes actually left before anything is allocated. Float vectors travel as one bin of
// little-endian float64 (length 8·count), index and member lists as one bin of little-endian uint32.
// Decoders also check NaN/±Inf, index ranges and ordering, enum ranges, field counts and trailing
// bytes, and accept only the shortest encoding of each value. Canonical decoding gives every message
// exactly one encoding, so Marshal(Unmarshal(b)) == b and an envelope's Digest is a function of its
// content: a relay cannot re-encode a signed message under a second digest.
//
// # Signatures: application-level, not gossipsub's
//
// Envelopes carry an Ed25519 signature over "byzpp/v1" || type || signer || body, made with the
// member's libp2p identity key. We sign at the application level rather than using gossipsub's
// StrictSign because included round messages and decision certificates must stay verifiable after they
// are fetched from a third party (a peer that missed a message gets it over a direct stream from whoever
// has it, and a certificate's signatures are checked by peers that never saw the votes): the signature
// has to travel with the bytes. Using StrictSign as well would sign and verify every message twice, and
// signing is the dominant per-round cost for large vectors. Gossipsub topics therefore run with
// StrictNoSign and a content-hash message ID, and topic validators verify the envelope signature
// against the member's public key (extracted from its Ed25519 peer ID).
//
// Versioning: Envelope.Version must equal Version; a decoder reads it before anything else and rejects
// other values with ErrVersion. Stream messages are versioned by their protocol ID.
package wire
