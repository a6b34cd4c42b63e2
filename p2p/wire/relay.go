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
	if err := a.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 3+a.size())
	b = append(b, RelayMarker, byte(KindAuthVote), RelayVersion)
	return a.append(b), nil
}

func (a *AuthVote) check() error {
	if err := checkVoteEnvelope(len(a.Envelope)); err != nil {
		return err
	}
	if len(a.MACs) == 0 || len(a.MACs) > DefaultMaxMembers {
		return fmt.Errorf("%w: %d MACs", ErrTooLarge, len(a.MACs))
	}
	return nil
}

func (a *AuthVote) size() int { return 2 + len(a.Envelope) + 2 + MACSize*len(a.MACs) }

// append appends a's body (envelope and MACs, no frame header) to b.
func (a *AuthVote) append(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Envelope)))
	b = append(b, a.Envelope...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.MACs)))
	for i := range a.MACs {
		b = append(b, a.MACs[i][:]...)
	}
	return b
}

// DecodeAuthVote decodes an AuthVote frame; at most lim.MaxMembers MACs are accepted.
func DecodeAuthVote(data []byte, lim Limits) (AuthVote, error) {
	r, err := openRelay(data, KindAuthVote, lim)
	if err != nil {
		return AuthVote{}, err
	}
	a, err := r.authVote()
	if err != nil {
		return AuthVote{}, err
	}
	if len(r.b) != 0 {
		return AuthVote{}, fmt.Errorf("%w: %d bytes after the vote", ErrTrailing, len(r.b))
	}
	return a, nil
}

// authVote reads an AuthVote body.
func (r *relayReader) authVote() (AuthVote, error) {
	var a AuthVote
	var err error
	if a.Envelope, err = r.envelope(); err != nil {
		return AuthVote{}, err
	}
	n, err := r.u16("MAC count")
	if err != nil {
		return AuthVote{}, err
	}
	if n == 0 || n > int(r.lim.MaxMembers) {
		return AuthVote{}, fmt.Errorf("%w: %d MACs, limit %d", ErrTooLarge, n, r.lim.MaxMembers)
	}
	if len(r.b) < n*MACSize {
		return AuthVote{}, relayLengthErr("MACs", n*MACSize, len(r.b))
	}
	a.MACs = make([]MAC, n)
	for i := range a.MACs {
		copy(a.MACs[i][:], r.b[i*MACSize:])
	}
	r.b = r.b[n*MACSize:]
	return a, nil
}

// Marshal encodes h; it refuses what DecodeVoteHandover under DefaultLimits would refuse.
func (h *VoteHandover) Marshal() ([]byte, error) {
	if len(h.Votes) == 0 || len(h.Votes) > MaxBundleVotes(DefaultLimits()) {
		return nil, fmt.Errorf("%w: %d votes in a handover", ErrTooLarge, len(h.Votes))
	}
	size := 3 + 2
	for i := range h.Votes {
		if err := h.Votes[i].check(); err != nil {
			return nil, err
		}
		size += h.Votes[i].size()
	}
	b := make([]byte, 0, size)
	b = append(b, RelayMarker, byte(KindVoteHandover), RelayVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Votes)))
	for i := range h.Votes {
		b = h.Votes[i].append(b)
	}
	return b, nil
}

// DecodeVoteHandover decodes a VoteHandover frame of at most MaxBundleVotes(lim) votes.
func DecodeVoteHandover(data []byte, lim Limits) (VoteHandover, error) {
	r, err := openRelay(data, KindVoteHandover, lim)
	if err != nil {
		return VoteHandover{}, err
	}
	n, err := r.u16("vote count")
	if err != nil {
		return VoteHandover{}, err
	}
	if n == 0 || n > MaxBundleVotes(lim) {
		return VoteHandover{}, fmt.Errorf("%w: %d votes in a handover, limit %d", ErrTooLarge, n, MaxBundleVotes(lim))
	}
	// Each vote takes at least 2+1+2+MACSize bytes: refuse a count the input cannot hold before allocating.
	if len(r.b) < n*(2+1+2+MACSize) {
		return VoteHandover{}, relayLengthErr("votes", n*(2+1+2+MACSize), len(r.b))
	}
	out := VoteHandover{Votes: make([]AuthVote, n)}
	for i := range out.Votes {
		if out.Votes[i], err = r.authVote(); err != nil {
			return VoteHandover{}, err
		}
	}
	if len(r.b) != 0 {
		return VoteHandover{}, fmt.Errorf("%w: %d bytes after the handover", ErrTrailing, len(r.b))
	}
	return out, nil
}

// Marshal encodes v; it refuses what DecodeVoteBundle under DefaultLimits would refuse.
func (v *VoteBundle) Marshal() ([]byte, error) {
	if len(v.Votes) == 0 || len(v.Votes) > MaxBundleVotes(DefaultLimits()) {
		return nil, fmt.Errorf("%w: %d votes in a bundle", ErrTooLarge, len(v.Votes))
	}
	size := 3 + 2
	for _, rv := range v.Votes {
		if err := checkVoteEnvelope(len(rv.Envelope)); err != nil {
			return nil, err
		}
		size += 2 + len(rv.Envelope) + MACSize
	}
	b := make([]byte, 0, size)
	b = append(b, RelayMarker, byte(KindVoteBundle), RelayVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v.Votes)))
	for _, rv := range v.Votes {
		b = binary.BigEndian.AppendUint16(b, uint16(len(rv.Envelope)))
		b = append(b, rv.Envelope...)
		b = append(b, rv.MAC[:]...)
	}
	return b, nil
}

// DecodeVoteBundle decodes a VoteBundle frame of at most MaxBundleVotes(lim) votes.
func DecodeVoteBundle(data []byte, lim Limits) (VoteBundle, error) {
	r, err := openRelay(data, KindVoteBundle, lim)
	if err != nil {
		return VoteBundle{}, err
	}
	n, err := r.u16("vote count")
	if err != nil {
		return VoteBundle{}, err
	}
	if n == 0 || n > MaxBundleVotes(lim) {
		return VoteBundle{}, fmt.Errorf("%w: %d votes in a bundle, limit %d", ErrTooLarge, n, MaxBundleVotes(lim))
	}
	// Each vote takes at least 2+1+MACSize bytes: refuse a count the input cannot hold before allocating.
	if len(r.b) < n*(2+1+MACSize) {
		return VoteBundle{}, relayLengthErr("votes", n*(2+1+MACSize), len(r.b))
	}
	out := VoteBundle{Votes: make([]RelayedVote, n)}
	for i := range out.Votes {
		rv := &out.Votes[i]
		if rv.Envelope, err = r.envelope(); err != nil {
			return VoteBundle{}, err
		}
		if len(r.b) < MACSize {
			return VoteBundle{}, relayLengthErr("MAC", MACSize, len(r.b))
		}
		copy(rv.MAC[:], r.b)
		r.b = r.b[MACSize:]
	}
	if len(r.b) != 0 {
		return VoteBundle{}, fmt.Errorf("%w: %d bytes after the bundle", ErrTrailing, len(r.b))
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

// envelope reads a length-prefixed envelope (a sub-slice of the input, not decoded).
func (r *relayReader) envelope() ([]byte, error) {
	n, err := r.u16("envelope length")
	if err != nil {
		return nil, err
	}
	if err := checkVoteEnvelope(n); err != nil {
		return nil, err
	}
	if n > r.lim.MaxEnvelope {
		return nil, fmt.Errorf("%w: envelope of %d bytes, limit %d", ErrTooLarge, n, r.lim.MaxEnvelope)
	}
	if len(r.b) < n {
		return nil, relayLengthErr("envelope", n, len(r.b))
	}
	env := r.b[:n:n]
	r.b = r.b[n:]
	return env, nil
}

func checkVoteEnvelope(n int) error {
	if n == 0 || n > MaxVoteEnvelope {
		return fmt.Errorf("%w: vote envelope of %d bytes (1 to %d)", ErrTooLarge, n, MaxVoteEnvelope)
	}
	return nil
}

func relayLengthErr(what string, want, have int) error {
	if have < want {
		return fmt.Errorf("%w: %s: %d bytes needed, %d left", ErrMalformed, what, want, have)
	}
	return fmt.Errorf("%w: %s: %d bytes expected, %d present", ErrTrailing, what, want, have)
}
