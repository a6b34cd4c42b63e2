package wire

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
)

const (
	maxUint64 = math.MaxUint64
	maxUint32 = math.MaxUint32
)

// Inclusion names one round message a proposal includes: its member and the digest of its signed
// envelope (Envelope.Digest), so anyone can fetch the exact bytes and check them.
type Inclusion struct {
	Member uint32
	Digest Digest
}

// Proposal is the leader's proposal for consensus height Height, attempt Round: the set of round
// messages to aggregate and the digest of the state the aggregation starts from. POLRound is the
// Tendermint proof-of-lock round (-1 when none). Included is sorted by strictly increasing Member, so
// one member contributes at most one message and the set has one encoding.
type Proposal struct {
	Run         RunID
	Height      uint64
	Round       uint32
	POLRound    int32
	Included    []Inclusion
	StateDigest Digest
	// Ops are membership operations decided with this value (open runs; see member.go). They travel
	// as an optional eighth field, so a proposal without any encodes exactly as before.
	Ops []MemberOp
}

// ValueID is what consensus agrees on: the SHA-256 of a fixed binary encoding of (Height, Included,
// StateDigest). It does not depend on Round or POLRound, so re-proposing the same value in a later
// attempt keeps its identity, as Tendermint's locking rules require.
func (p *Proposal) ValueID() Digest {
	h := sha256.New()
	var buf [8]byte
	h.Write([]byte("byzpp/value/v1"))
	binary.LittleEndian.PutUint64(buf[:], p.Height)
	h.Write(buf[:])
	binary.LittleEndian.PutUint32(buf[:4], uint32(len(p.Included)))
	h.Write(buf[:4])
	for _, in := range p.Included {
		binary.LittleEndian.PutUint32(buf[:4], in.Member)
		h.Write(buf[:4])
		h.Write(in.Digest[:])
	}
	h.Write(p.StateDigest[:])
	hashOps(h, p.Ops)
	var out Digest
	h.Sum(out[:0])
	return out
}

// Validate checks POLRound (-1, or 0 <= POLRound < Round) and that Included's members are strictly
// increasing and below MaxMembers.
func (p *Proposal) Validate(lim *Limits) error {
	if p.POLRound < -1 || (p.POLRound >= 0 && int64(p.POLRound) >= int64(p.Round)) {
		return fmt.Errorf("%w: POL round %d with round %d", ErrEnum, p.POLRound, p.Round)
	}
	if len(p.Included) > int(lim.MaxMembers) {
		return fmt.Errorf("%w: %d inclusions, limit %d", ErrTooLarge, len(p.Included), lim.MaxMembers)
	}
	for j, in := range p.Included {
		if in.Member >= lim.MaxMembers {
			return fmt.Errorf("%w: included member %d, limit %d", ErrIndex, in.Member, lim.MaxMembers)
		}
		if j > 0 && in.Member <= p.Included[j-1].Member {
			return fmt.Errorf("%w: included members not strictly increasing at %d", ErrIndex, j)
		}
	}
	if len(p.Ops) > MaxOps {
		return fmt.Errorf("%w: %d membership operations, limit %d", ErrTooLarge, len(p.Ops), MaxOps)
	}
	for j := range p.Ops {
		if err := p.Ops[j].Validate(lim); err != nil {
			return fmt.Errorf("operation %d: %w", j, err)
		}
	}
	return nil
}

func (p *Proposal) sizeHint() int {
	n := 1 + 34 + 9 + 5 + 5 + 5 + 5 + 36*len(p.Included) + 34 + 3
	for j := range p.Ops {
		n += p.Ops[j].sizeHint()
	}
	return n
}

// encode writes [Run, Height, Round, POLRound, members as one uint32 bin, digests as one bin, StateDigest]
// and, only when there are operations, an eighth field: the array of operations.
func (p *Proposal) encode(w *encoder) {
	if len(p.Ops) > 0 {
		w.header(8, &p.Run)
	} else {
		w.header(7, &p.Run)
	}
	w.uint(p.Height)
	w.uint(uint64(p.Round))
	w.int(int64(p.POLRound))
	members := make([]uint32, len(p.Included))
	digests := make([]byte, 0, 32*len(p.Included))
	for j, in := range p.Included {
		members[j] = in.Member
		digests = append(digests, in.Digest[:]...)
	}
	w.uint32s(members)
	w.bytes(digests)
	w.bytes(p.StateDigest[:])
	writeTrailing(w, p.Ops)
}

func (p *Proposal) decode(r *decoder) error {
	var out Proposal
	nf, err := r.fieldsBetween(7, 8, "proposal")
	if err != nil {
		return err
	}
	if err := r.fixed(out.Run[:], "run"); err != nil {
		return err
	}
	height, round, err := r.heightRound()
	if err != nil {
		return err
	}
	pol, err := r.int(-1, math.MaxInt32, "POL round")
	if err != nil {
		return err
	}
	members, err := r.uint32s(int(r.lim.MaxMembers), "included members")
	if err != nil {
		return err
	}
	n, err := r.blockLen(32, len(members), "included digests")
	if err != nil {
		return err
	}
	if n != len(members) {
		return fmt.Errorf("%w: %d included members but %d digests", ErrMalformed, len(members), n)
	}
	if n > 0 {
		out.Included = make([]Inclusion, n)
	}
	err = r.readBlocks(n, 32, "included digests", func(chunk []byte, first int) {
		for j := 0; j < len(chunk)/32; j++ {
			out.Included[first+j] = Inclusion{Member: members[first+j], Digest: Digest(chunk[32*j : 32*j+32])}
		}
	})
	if err != nil {
		return err
	}
	if err := r.fixed(out.StateDigest[:], "state digest"); err != nil {
		return err
	}
	if nf == 8 {
		if out.Ops, err = readTrailing[MemberOp](r, MaxOps, "membership operation"); err != nil {
			return err
		}
	}
	out.Height, out.Round, out.POLRound = height, round, int32(pol)
	*p = out
	return nil
}

// Vote is a prevote or precommit for Value (the ValueID of a proposal, or the zero Digest for "nil") at
// consensus height Height, attempt Round.
type Vote struct {
	Run    RunID
	Type   VoteType
	Height uint64
	Round  uint32
	Value  Digest
}

// Validate checks the vote type.
func (v *Vote) Validate(*Limits) error {
	if !v.Type.Valid() {
		return fmt.Errorf("%w: vote type %d", ErrEnum, v.Type)
	}
	return nil
}

func (v *Vote) sizeHint() int { return 1 + 34 + 1 + 9 + 5 + 34 }

func (v *Vote) encode(w *encoder) {
	w.header(5, &v.Run)
	w.uint(uint64(v.Type))
	w.uint(v.Height)
	w.uint(uint64(v.Round))
	w.bytes(v.Value[:])
}

func (v *Vote) decode(r *decoder) error {
	var out Vote
	if err := r.header(5, "vote", &out.Run); err != nil {
		return err
	}
	typ, err := r.uint(math.MaxUint8, "vote type")
	if err != nil {
		return err
	}
	height, round, err := r.heightRound()
	if err != nil {
		return err
	}
	if err := r.fixed(out.Value[:], "value"); err != nil {
		return err
	}
	out.Type, out.Height, out.Round = VoteType(typ), height, round
	*v = out
	return nil
}
