package wire

import "fmt"

// Limits caps every length a decoder accepts. Decoders compare each length header against these caps
// (and against the bytes actually left in the input) before allocating, because msgpack's own decoder
// allocates whatever a header claims.
type Limits struct {
	// MaxDim is the largest vector dimension.
	MaxDim uint32
	// MaxMembers bounds member indices (Member, Signer, Included, Signers are all < MaxMembers) and so
	// the length of every member list.
	MaxMembers uint32
	// MaxDigests bounds the digests in a MsgRequest and the envelopes in a MsgResponse.
	MaxDigests int
	// MaxEnvelope bounds the encoded size of one Envelope, including its body.
	MaxEnvelope int
	// MaxMessage bounds the encoded size of any one message passed to Unmarshal.
	MaxMessage int
}

// Default caps: generous enough for any model this project trains (2^24 parameters, 4096 members).
// Nodes should use LimitsFor with the run's real dimension and membership, which is much tighter.
const (
	DefaultMaxDim     = 1 << 24
	DefaultMaxMembers = 1 << 12
	DefaultMaxDigests = 1 << 12
)

// DefaultLimits returns the default caps. MaxEnvelope fits a sparse vector with every coordinate
// present (12 bytes per coordinate); MaxMessage fits a StateResponse with two dense vectors.
func DefaultLimits() Limits {
	return Limits{
		MaxDim:      DefaultMaxDim,
		MaxMembers:  DefaultMaxMembers,
		MaxDigests:  DefaultMaxDigests,
		MaxEnvelope: defaultMaxEnvelope,
		MaxMessage:  1 << 30,
	}
}

// LimitsFor returns caps tight for a run of the given dimension and number of members: an envelope holds
// at most one round message of that dimension, a message at most one envelope per member (MsgResponse)
// or a full state (StateResponse).
func LimitsFor(dim uint32, members uint32) Limits {
	envelope := 12*int(dim) + 16*int(members) + 1024
	state := 16*int(dim) + 128*int(members) + 1024
	return Limits{
		MaxDim:      dim,
		MaxMembers:  members,
		MaxDigests:  int(members),
		MaxEnvelope: envelope,
		MaxMessage:  max(state, int(members)*(envelope+8)+16),
	}
}

// Validate checks that every cap is positive.
func (l Limits) Validate() error {
	if l.MaxDim == 0 || l.MaxMembers == 0 || l.MaxDigests <= 0 || l.MaxEnvelope <= 0 || l.MaxMessage <= 0 {
		return fmt.Errorf("%w: every limit must be positive: %+v", ErrEnum, l)
	}
	return nil
}
