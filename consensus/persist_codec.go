package consensus

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// The binary form of PersistentState. A member persists it before every message it sends, dozens of
// times a second, and the JSON it used to write (value ids as arrays of 32 numbers, a certificate of
// a quorum of votes) took about 3% of a peer's CPU on a 20-peer testnet. This form is fixed-width,
// big-endian:
//
//	'C' 1 | height u64 | round u32 | step u8 | locked value [32] | locked round i32
//	      | valid value [32] | valid round i32
//	      | u16 count { vote } | u16 count { proposal } | u8 has decision [ decision ]
//	      | u16 count { vote }    (version 2 on: the proof of lock)
//	vote:     type u8 | height u64 | round u32 | value [32] | voter i32
//	proposal: height u64 | round u32 | POL round i32 | value [32] | proposer i32
//	decision: height u64 | round u32 | value [32] | u16 count { vote }
//
// DecodePersistentState also reads the JSON that earlier versions wrote (it starts with '{').

// ErrBadPersistent is wrapped by DecodePersistentState for input that is not a persisted state.
var ErrBadPersistent = errors.New("consensus: malformed persisted state")

const (
	persistMagic   = 'C'
	persistVersion = 2 // 1: no proof of lock (still read)
	voteSize       = 1 + 8 + 4 + 32 + 4
	proposalSize   = 8 + 4 + 4 + 32 + 4
	// maxPersistItems bounds every count in a persisted state (a member signs a few messages per
	// attempt; a certificate holds one precommit per member).
	maxPersistItems = 1 << 14
)

// MarshalBinary encodes ps in the binary form.
func (ps *PersistentState) MarshalBinary() ([]byte, error) {
	if len(ps.LastSigned) > maxPersistItems || len(ps.OwnProposals) > maxPersistItems || len(ps.ProofOfLock) > maxPersistItems ||
		(ps.Decision != nil && len(ps.Decision.Certificate) > maxPersistItems) {
		return nil, fmt.Errorf("%w: too many items to persist", ErrBadPersistent)
	}
	size := 2 + 8 + 4 + 1 + 2*(32+4) + 2 + voteSize*len(ps.LastSigned) + 2 + proposalSize*len(ps.OwnProposals) + 1 +
		2 + voteSize*len(ps.ProofOfLock)
	if ps.Decision != nil {
		size += 8 + 4 + 32 + 2 + voteSize*len(ps.Decision.Certificate)
	}
	b := make([]byte, 0, size)
	b = append(b, persistMagic, persistVersion)
	b = binary.BigEndian.AppendUint64(b, ps.Height)
	b = binary.BigEndian.AppendUint32(b, ps.Round)
	b = append(b, byte(ps.Step))
	b = append(b, ps.LockedValue[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(ps.LockedRound))
	b = append(b, ps.ValidValue[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(ps.ValidRound))
	b = appendVotes(b, ps.LastSigned)
	b = binary.BigEndian.AppendUint16(b, uint16(len(ps.OwnProposals)))
	for _, p := range ps.OwnProposals {
		b = binary.BigEndian.AppendUint64(b, p.Height)
		b = binary.BigEndian.AppendUint32(b, p.Round)
		b = binary.BigEndian.AppendUint32(b, uint32(p.POLRound))
		b = append(b, p.Value[:]...)
		b = binary.BigEndian.AppendUint32(b, uint32(int32(p.Proposer)))
	}
	if ps.Decision == nil {
		b = append(b, 0)
	} else {
		d := ps.Decision
		b = append(b, 1)
		b = binary.BigEndian.AppendUint64(b, d.Height)
		b = binary.BigEndian.AppendUint32(b, d.Round)
		b = append(b, d.Value[:]...)
		b = appendVotes(b, d.Certificate)
	}
	return appendVotes(b, ps.ProofOfLock), nil
}

func appendVotes(b []byte, votes []Vote) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(votes)))
	for _, v := range votes {
		b = append(b, byte(v.Type))
		b = binary.BigEndian.AppendUint64(b, v.Height)
		b = binary.BigEndian.AppendUint32(b, v.Round)
		b = append(b, v.Value[:]...)
		b = binary.BigEndian.AppendUint32(b, uint32(int32(v.Voter)))
	}
	return b
}

// DecodePersistentState decodes what MarshalBinary (or, earlier, encoding/json) wrote. It checks
// every count against the bytes present before allocating; whether the state is one Algorithm 1
// could have produced is New's check.
func DecodePersistentState(b []byte) (*PersistentState, error) {
	if len(b) > 0 && b[0] == '{' {
		var ps PersistentState
		if err := json.Unmarshal(b, &ps); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadPersistent, err)
		}
		return &ps, nil
	}
	r := persistReader{b: b}
	magic, version := r.u8(), r.u8()
	if r.err == nil && (magic != persistMagic || version < 1 || version > persistVersion) {
		return nil, fmt.Errorf("%w: header %q %d", ErrBadPersistent, magic, version)
	}
	ps := &PersistentState{Height: r.u64(), Round: r.u32(), Step: Step(r.u8())}
	ps.LockedValue, ps.LockedRound = r.value(), r.i32()
	ps.ValidValue, ps.ValidRound = r.value(), r.i32()
	ps.LastSigned = r.votes()
	if n := r.count(proposalSize); n > 0 {
		ps.OwnProposals = make([]Proposal, n)
		for i := range ps.OwnProposals {
			ps.OwnProposals[i] = Proposal{Height: r.u64(), Round: r.u32(), POLRound: r.i32(), Value: r.value(), Proposer: int(r.i32())}
		}
	}
	switch r.u8() {
	case 0:
	case 1:
		ps.Decision = &Decision{Height: r.u64(), Round: r.u32(), Value: r.value()}
		ps.Decision.Certificate = r.votes()
	default:
		r.fail("decision flag")
	}
	if version >= 2 {
		ps.ProofOfLock = r.votes()
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	if r.err != nil {
		return nil, r.err
	}
	return ps, nil
}

// persistReader consumes the binary form; the first shortfall sticks in err and later reads return
// zeros.
type persistReader struct {
	b   []byte
	err error
}

func (r *persistReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrBadPersistent, what)
	}
	r.b = nil
}

func (r *persistReader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.fail("truncated")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *persistReader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *persistReader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *persistReader) i32() int32 { return int32(r.u32()) }

func (r *persistReader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *persistReader) value() (v ValueID) {
	copy(v[:], r.take(32))
	return v
}

// count reads a u16 count of items of itemSize bytes each, refusing one the input cannot hold.
func (r *persistReader) count(itemSize int) int {
	b := r.take(2)
	if b == nil {
		return 0
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > maxPersistItems || n*itemSize > len(r.b) || n*itemSize > math.MaxInt32 {
		r.fail(fmt.Sprintf("count %d", n))
		return 0
	}
	return n
}

func (r *persistReader) votes() []Vote {
	n := r.count(voteSize)
	if n == 0 {
		return nil
	}
	out := make([]Vote, n)
	for i := range out {
		out[i] = Vote{Type: VoteType(r.u8()), Height: r.u64(), Round: r.u32(), Value: r.value(), Voter: int(r.i32())}
	}
	return out
}
