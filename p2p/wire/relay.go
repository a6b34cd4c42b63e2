package wire

import (
	"encoding/binary"
	"fmt"
)

// Relay frames carry votes through the leader of a consensus attempt instead of all-to-all (node's
// relay.go explains the protocol). They are not signed envelopes: they wrap a member's signed vote
// envelope with pairwise MACs (message authentication codes), which the members' pairwise keys make
// and check.
//
//   - AuthVote (voter → leader): one signed vote envelope and its authenticator, one MAC per member
//     (MACs[j] lets member j check that the voter sent this envelope; the voter's own slot is zero).
//   - VoteBundle (leader → member j): votes the leader received, each with the one MAC meant for j.
//   - VoteHandover (a past leader → the current one): late votes of a height the past leader relayed,
//     each with its whole authenticator, for the current leader to forward in its own bundles.
//   - AuthRound (member → leader) and RoundBundle (leader → member j): the same for signed round
//     messages of the next round (node's speculate.go), whose envelopes are larger: their lengths are
//     32-bit and bounded by Limits.MaxEnvelope.
//
// The encoding is hand-written binary, not msgpack, and starts with RelayMarker, the one byte msgpack
// never uses (0xc1): every envelope starts with a msgpack array header, so a relay frame can share a
// direct stream with envelopes and the receiver tells them apart by the first byte.
//
//	AuthVote:   c1 01 <version> <u16 envelope length> <envelope> <u16 MAC count> <count × 16-byte MAC>
//	VoteBundle: c1 02 <version> <u16 vote count> { <u16 envelope length> <envelope> <16-byte MAC> } …
//	VoteHandover: c1 03 <version> <u16 vote count> { <u16 envelope length> <envelope> <u16 MAC count> <MACs> } …
//	AuthRound:   c1 04 <version> <u32 envelope length> <envelope> <u16 MAC count> <count × 16-byte MAC>
//	RoundBundle: c1 05 <version> <u16 count> { <u32 envelope length> <envelope> <16-byte MAC> } …
//
// Integers are big endian. Decoders check every length against the caps and the bytes present, reject
// other versions with ErrVersion and trailing bytes with ErrTrailing. They do not decode the envelopes
// (the caller does, with Unmarshal), and the slices they return alias the input.
const (
	// RelayMarker is the first byte of every relay frame (msgpack's never-used code).
	RelayMarker = 0xc1
	// RelayVersion is the version of both relay frames.
	RelayVersion = 1
	// MACSize is the length of one truncated pairwise MAC.
	MACSize = 16
	// MaxVoteEnvelope bounds the encoded size of a vote envelope inside a relay frame (an encoded
	// vote envelope is about 150 bytes).
	MaxVoteEnvelope = 512
)

// RelayKind tells the two relay frames apart (the byte after RelayMarker).
type RelayKind uint8

// The relay frames. Never renumber them.
const (
	KindAuthVote     RelayKind = 1
	KindVoteBundle   RelayKind = 2
	KindVoteHandover RelayKind = 3
	KindAuthRound    RelayKind = 4
	KindRoundBundle  RelayKind = 5
)

// MAC is a truncated HMAC-SHA256 (node's pairwise keys).
type MAC [MACSize]byte

// AuthVote is a signed vote envelope with its authenticator: MACs[j] is the MAC for member j.
type AuthVote struct {
	Envelope []byte
	MACs     []MAC
}

// RelayedVote is one vote of a bundle: its signed envelope and the MAC meant for the bundle's receiver.
type RelayedVote struct {
	Envelope []byte
	MAC      MAC
}

// VoteBundle is what a leader forwards to one member.
type VoteBundle struct {
	Votes []RelayedVote
}

// VoteHandover is what a past leader passes to the current one: votes with their authenticators.
type VoteHandover struct {
	Votes []AuthVote
}

// MaxBundleVotes is the most votes one bundle may hold under lim: two vote types of a few attempts
// from every member. A leader with more to forward sends several bundles.
func MaxBundleVotes(lim Limits) int { return 4 * int(lim.MaxMembers) }

// IsRelayFrame reports whether b is a relay frame rather than an envelope.
func IsRelayFrame(b []byte) bool { return len(b) > 0 && b[0] == RelayMarker }

// RelayFrameKind returns the kind of relay frame b, checking the marker and version.
func RelayFrameKind(b []byte) (RelayKind, error) {
	if len(b) < 3 || b[0] != RelayMarker {
		return 0, fmt.Errorf("%w: not a relay frame", ErrMalformed)
	}
	if b[2] != RelayVersion {
		return 0, fmt.Errorf("%w: relay frame version %d", ErrVersion, b[2])
	}
	switch k := RelayKind(b[1]); k {
	case KindAuthVote, KindVoteBundle, KindVoteHandover, KindAuthRound, KindRoundBundle:
		return k, nil
	default:
		return 0, fmt.Errorf("%w: relay frame kind %d", ErrEnum, b[1])
	}
}

// Marshal encodes a; it refuses what DecodeAuthVote under DefaultLimits would refuse.
func (a *AuthVote) Marshal() ([]byte, error) {
	return marshalAuth(KindAuthVote, authFrame(*a), voteEnv)
}

// DecodeAuthVote decodes an AuthVote frame; at most lim.MaxMembers MACs are accepted.
func DecodeAuthVote(data []byte, lim Limits) (AuthVote, error) {
	a, err := decodeAuth(data, KindAuthVote, lim, voteEnv)
	return AuthVote(a), err
}

// Marshal encodes v; it refuses what DecodeVoteBundle under DefaultLimits would refuse.
func (v *VoteBundle) Marshal() ([]byte, error) {
	return marshalRelayed(KindVoteBundle, v.Votes, voteEnv, MaxBundleVotes(DefaultLimits()), "votes in a bundle")
}

// DecodeVoteBundle decodes a VoteBundle frame of at most MaxBundleVotes(lim) votes.
func DecodeVoteBundle(data []byte, lim Limits) (VoteBundle, error) {
	votes, err := decodeRelayed[RelayedVote](data, KindVoteBundle, lim, voteEnv, MaxBundleVotes(lim), "votes in a bundle")
	return VoteBundle{Votes: votes}, err
}

// Marshal encodes h; it refuses what DecodeVoteHandover under DefaultLimits would refuse.
func (h *VoteHandover) Marshal() ([]byte, error) {
	if len(h.Votes) == 0 || len(h.Votes) > MaxBundleVotes(DefaultLimits()) {
		return nil, fmt.Errorf("%w: %d votes in a handover", ErrTooLarge, len(h.Votes))
	}
	size := 3 + 2
	for _, v := range h.Votes {
		if err := authFrame(v).check(voteEnv); err != nil {
			return nil, err
		}
		size += authFrame(v).size(voteEnv)
	}
	b := make([]byte, 0, size)
	b = append(b, RelayMarker, byte(KindVoteHandover), RelayVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Votes)))
	for _, v := range h.Votes {
		b = authFrame(v).append(b, voteEnv)
	}
	return b, nil
}

// DecodeVoteHandover decodes a VoteHandover frame of at most MaxBundleVotes(lim) votes.
func DecodeVoteHandover(data []byte, lim Limits) (VoteHandover, error) {
	r, err := openRelay(data, KindVoteHandover, lim)
	if err != nil {
		return VoteHandover{}, err
	}
	n, err := r.count("votes in a handover", MaxBundleVotes(lim), voteEnv.width+1+2+MACSize)
	if err != nil {
		return VoteHandover{}, err
	}
	out := VoteHandover{Votes: make([]AuthVote, n)}
	for i := range out.Votes {
		a, err := r.auth(voteEnv)
		if err != nil {
			return VoteHandover{}, err
		}
		out.Votes[i] = AuthVote(a)
	}
	if err := r.done("handover"); err != nil {
		return VoteHandover{}, err
	}
	return out, nil
}

// The frames share two shapes: an envelope with its whole authenticator (AuthVote, AuthRound, the
// entries of VoteHandover) and a list of envelopes each with one MAC (VoteBundle, RoundBundle). They
// differ in how an envelope is framed (envField): a vote's length in 16 bits, capped at
// MaxVoteEnvelope; a round message's in 32, capped at Limits.MaxEnvelope.

// envField is how a frame family carries an envelope.
type envField struct {
	width int              // bytes of the big-endian length prefix: 2 or 4
	what  string           // for errors
	max   func(Limits) int // the largest envelope accepted under the limits
}

// defaultMaxEnvelope is DefaultLimits().MaxEnvelope: no frame carries a larger envelope, whatever
// the limits a decoder is given, so that every frame that decodes also encodes.
const defaultMaxEnvelope = 12*DefaultMaxDim + 1<<16

var (
	voteEnv  = envField{2, "vote envelope", func(l Limits) int { return min(MaxVoteEnvelope, l.MaxEnvelope) }}
	roundEnv = envField{4, "round envelope", func(l Limits) int { return min(defaultMaxEnvelope, l.MaxEnvelope) }}
)

// check refuses an envelope that the decoder under DefaultLimits would refuse.
func (f envField) check(n int) error {
	if limit := f.max(Limits{MaxEnvelope: defaultMaxEnvelope}); n == 0 || n > limit {
		return fmt.Errorf("%w: %s of %d bytes (1 to %d)", ErrTooLarge, f.what, n, limit)
	}
	return nil
}

func (f envField) append(b, env []byte) []byte {
	if f.width == 2 {
		b = binary.BigEndian.AppendUint16(b, uint16(len(env)))
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(len(env)))
	}
	return append(b, env...)
}

// authFrame is the shape of AuthVote and AuthRound.
type authFrame struct {
	Envelope []byte
	MACs     []MAC
}

func (a authFrame) check(f envField) error {
	if err := f.check(len(a.Envelope)); err != nil {
		return err
	}
	if len(a.MACs) == 0 || len(a.MACs) > DefaultMaxMembers {
		return fmt.Errorf("%w: %d MACs", ErrTooLarge, len(a.MACs))
	}
	return nil
}

func (a authFrame) size(f envField) int { return f.width + len(a.Envelope) + 2 + MACSize*len(a.MACs) }

// append appends a's body (envelope and MACs, no frame header) to b.
func (a authFrame) append(b []byte, f envField) []byte {
	b = f.append(b, a.Envelope)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.MACs)))
	for i := range a.MACs {
		b = append(b, a.MACs[i][:]...)
	}
	return b
}

func marshalAuth(kind RelayKind, a authFrame, f envField) ([]byte, error) {
	if err := a.check(f); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 3+a.size(f))
	b = append(b, RelayMarker, byte(kind), RelayVersion)
	return a.append(b, f), nil
}

func decodeAuth(data []byte, kind RelayKind, lim Limits, f envField) (authFrame, error) {
	r, err := openRelay(data, kind, lim)
	if err != nil {
		return authFrame{}, err
	}
	a, err := r.auth(f)
	if err != nil {
		return authFrame{}, err
	}
	if err := r.done("authenticated envelope"); err != nil {
		return authFrame{}, err
	}
	return a, nil
}

// relayedFrame is the shape of RelayedVote and RelayedRound.
type relayedFrame struct {
	Envelope []byte
	MAC      MAC
}

// relayed is the constraint of the entries of VoteBundle and RoundBundle.
type relayed interface {
	~struct {
		Envelope []byte
		MAC      MAC
	}
}

// marshalRelayed encodes a bundle frame of 1 to maxCount entries.
func marshalRelayed[T relayed](kind RelayKind, items []T, f envField, maxCount int, what string) ([]byte, error) {
	if len(items) == 0 || len(items) > maxCount {
		return nil, fmt.Errorf("%w: %d %s", ErrTooLarge, len(items), what)
	}
	size := 3 + 2
	for _, it := range items {
		e := relayedFrame(it)
		if err := f.check(len(e.Envelope)); err != nil {
			return nil, err
		}
		size += f.width + len(e.Envelope) + MACSize
	}
	b := make([]byte, 0, size)
	b = append(b, RelayMarker, byte(kind), RelayVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(items)))
	for _, it := range items {
		e := relayedFrame(it)
		b = f.append(b, e.Envelope)
		b = append(b, e.MAC[:]...)
	}
	return b, nil
}

// decodeRelayed decodes a bundle frame of 1 to maxCount entries.
func decodeRelayed[T relayed](data []byte, kind RelayKind, lim Limits, f envField, maxCount int, what string) ([]T, error) {
	r, err := openRelay(data, kind, lim)
	if err != nil {
		return nil, err
	}
	n, err := r.count(what, maxCount, f.width+1+MACSize)
	if err != nil {
		return nil, err
	}
	out := make([]T, n)
	for i := range out {
		var e relayedFrame
		if e.Envelope, err = r.envelope(f); err != nil {
			return nil, err
		}
		if len(r.b) < MACSize {
			return nil, relayLengthErr("MAC", MACSize, len(r.b))
		}
		copy(e.MAC[:], r.b)
		r.b = r.b[MACSize:]
		out[i] = T(e)
	}
	if err := r.done("bundle"); err != nil {
		return nil, err
	}
	return out, nil
}

// relayReader consumes a relay frame's bytes.
type relayReader struct {
	b   []byte
	lim Limits
}

func openRelay(data []byte, kind RelayKind, lim Limits) (*relayReader, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	if len(data) > lim.MaxMessage {
		return nil, fmt.Errorf("%w: relay frame of %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxMessage)
	}
	k, err := RelayFrameKind(data)
	if err != nil {
		return nil, err
	}
	if k != kind {
		return nil, fmt.Errorf("%w: relay frame kind %d, want %d", ErrMalformed, k, kind)
	}
	return &relayReader{b: data[3:], lim: lim}, nil
}

func (r *relayReader) u16(what string) (int, error) {
	if len(r.b) < 2 {
		return 0, relayLengthErr(what, 2, len(r.b))
	}
	v := int(binary.BigEndian.Uint16(r.b))
	r.b = r.b[2:]
	return v, nil
}

// count reads a u16 count of 1 to max entries of at least minSize bytes each, refusing one the
// input cannot hold before anything is allocated for it.
func (r *relayReader) count(what string, max, minSize int) (int, error) {
	n, err := r.u16("count of " + what)
	if err != nil {
		return 0, err
	}
	if n == 0 || n > max {
		return 0, fmt.Errorf("%w: %d %s, limit %d", ErrTooLarge, n, what, max)
	}
	if len(r.b) < n*minSize {
		return 0, relayLengthErr(what, n*minSize, len(r.b))
	}
	return n, nil
}

// envelope reads a length-prefixed envelope framed as f (a sub-slice of the input, not decoded).
func (r *relayReader) envelope(f envField) ([]byte, error) {
	if len(r.b) < f.width {
		return nil, relayLengthErr(f.what+" length", f.width, len(r.b))
	}
	var n uint64
	if f.width == 2 {
		n = uint64(binary.BigEndian.Uint16(r.b))
	} else {
		n = uint64(binary.BigEndian.Uint32(r.b))
	}
	r.b = r.b[f.width:]
	if limit := f.max(r.lim); n == 0 || n > uint64(limit) {
		return nil, fmt.Errorf("%w: %s of %d bytes (1 to %d)", ErrTooLarge, f.what, n, limit)
	}
	if uint64(len(r.b)) < n {
		return nil, relayLengthErr(f.what, int(n), len(r.b))
	}
	env := r.b[:n:n]
	r.b = r.b[n:]
	return env, nil
}

// auth reads an envelope framed as f and its authenticator (1 to lim.MaxMembers MACs).
func (r *relayReader) auth(f envField) (authFrame, error) {
	var a authFrame
	var err error
	if a.Envelope, err = r.envelope(f); err != nil {
		return authFrame{}, err
	}
	n, err := r.u16("MAC count")
	if err != nil {
		return authFrame{}, err
	}
	if n == 0 || n > int(r.lim.MaxMembers) {
		return authFrame{}, fmt.Errorf("%w: %d MACs, limit %d", ErrTooLarge, n, r.lim.MaxMembers)
	}
	if len(r.b) < n*MACSize {
		return authFrame{}, relayLengthErr("MACs", n*MACSize, len(r.b))
	}
	a.MACs = make([]MAC, n)
	for i := range a.MACs {
		copy(a.MACs[i][:], r.b[i*MACSize:])
	}
	r.b = r.b[n*MACSize:]
	return a, nil
}

// done refuses bytes after the frame's last field.
func (r *relayReader) done(frame string) error {
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d bytes after the %s", ErrTrailing, len(r.b), frame)
	}
	return nil
}

// relayLengthErr is the error for want bytes where have are left: short input is malformed, extra
// input trailing.
func relayLengthErr(what string, want, have int) error {
	if have < want {
		return fmt.Errorf("%w: %s: %d bytes needed, %d left", ErrMalformed, what, want, have)
	}
	return fmt.Errorf("%w: %s: %d bytes expected, %d present", ErrTrailing, what, want, have)
}
