package wire

import (
	"encoding/hex"
	"errors"
)

// Version is the wire-format version carried in every Envelope. A decoder rejects any other value
// with ErrVersion, so peers running incompatible formats fail loudly instead of misreading each other.
const Version = 1

// Digest is a SHA-256 hash.
type Digest [32]byte

// RunID names one training run. Every message carries it, so a message signed for one run can never be
// replayed into another.
type RunID [32]byte

// IsZero reports whether d is all zeros (a vote's "nil" value).
func (d Digest) IsZero() bool { return d == Digest{} }

// String returns the first 8 bytes in hex, enough to tell digests apart in logs.
func (d Digest) String() string { return hex.EncodeToString(d[:8]) }

// String returns the first 8 bytes in hex.
func (r RunID) String() string { return hex.EncodeToString(r[:8]) }

// Type tells which message an Envelope's Body holds. The values are part of the wire contract: never
// renumber them.
type Type uint8

const (
	TypeRound    Type = 1 // RoundMsg: a member's round-k vector
	TypeProposal Type = 2 // Proposal: the leader's proposed set of included round messages
	TypeVote     Type = 3 // Vote: a prevote or precommit
	TypeAnnounce Type = 4 // Announce: "my round message has this digest", for vectors too big for gossip
)

// Valid reports whether t is a known envelope type.
func (t Type) Valid() bool { return t >= TypeRound && t <= TypeAnnounce }

func (t Type) String() string {
	switch t {
	case TypeRound:
		return "round"
	case TypeProposal:
		return "proposal"
	case TypeVote:
		return "vote"
	case TypeAnnounce:
		return "announce"
	}
	return "unknown"
}

// VoteType distinguishes the two voting steps of the BFT protocol.
type VoteType uint8

const (
	Prevote   VoteType = 1
	Precommit VoteType = 2
)

// Valid reports whether v is Prevote or Precommit.
func (v VoteType) Valid() bool { return v == Prevote || v == Precommit }

// SigSize is the length of an Ed25519 signature.
const SigSize = 64

// Sentinel errors. Every decoding or validation error wraps exactly one of them, so callers (gossip
// validators, metrics) can branch on the kind of fault with errors.Is.
var (
	// ErrVersion: the envelope's version is not Version.
	ErrVersion = errors.New("wire: unknown version")
	// ErrMalformed: not the expected msgpack shape (wrong type code, wrong field count, non-canonical
	// encoding, truncated input).
	ErrMalformed = errors.New("wire: malformed message")
	// ErrTooLarge: a length exceeds a Limits cap or the bytes actually present.
	ErrTooLarge = errors.New("wire: message exceeds limits")
	// ErrNonFinite: a float value is NaN or ±Inf.
	ErrNonFinite = errors.New("wire: non-finite value")
	// ErrIndex: a sparse index or member list is out of range or not strictly increasing.
	ErrIndex = errors.New("wire: bad index")
	// ErrDimension: vector lengths do not match their declared dimension.
	ErrDimension = errors.New("wire: bad dimension")
	// ErrEnum: an enumerated field (type, vote type, round) holds a value outside its range.
	ErrEnum = errors.New("wire: value out of range")
	// ErrTrailing: bytes remain after a complete message.
	ErrTrailing = errors.New("wire: trailing bytes")
	// ErrSignature: a signature does not verify.
	ErrSignature = errors.New("wire: bad signature")
	// ErrKeyType: a key is not Ed25519.
	ErrKeyType = errors.New("wire: key is not Ed25519")
	// ErrQuorum: a certificate has too few distinct signers.
	ErrQuorum = errors.New("wire: certificate below quorum")
)
