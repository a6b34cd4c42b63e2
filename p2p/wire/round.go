package wire

import "fmt"

// RoundMsg is member Member's message for round Round: its full gradient at x^{k+1} on a full round
// (Full), or its compressed minibatch gradient difference on a partial round. StateDigest is the digest
// of the agreed state x^k, g^k the member computed from, so a message built on a different state is
// recognisable.
type RoundMsg struct {
	Run         RunID
	Round       uint64
	Member      uint32
	Full        bool
	StateDigest Digest
	Vec         Vector
}

// Validate checks the member index and the vector.
func (m *RoundMsg) Validate(lim *Limits) error {
	if m.Member >= lim.MaxMembers {
		return fmt.Errorf("%w: member %d, limit %d", ErrIndex, m.Member, lim.MaxMembers)
	}
	return m.Vec.Validate(lim)
}

func (m *RoundMsg) sizeHint() int { return 1 + 34 + 9 + 5 + 1 + 34 + m.Vec.encodedSize() }

func (m *RoundMsg) encode(w *encoder) {
	w.header(6, &m.Run)
	w.uint(m.Round)
	w.uint(uint64(m.Member))
	w.bool(m.Full)
	w.bytes(m.StateDigest[:])
	m.Vec.encode(w)
}

func (m *RoundMsg) decode(r *decoder) error {
	var out RoundMsg
	if err := r.header(6, "round message", &out.Run); err != nil {
		return err
	}
	round, member, err := r.roundMember()
	if err != nil {
		return err
	}
	if out.Full, err = r.bool("full"); err != nil {
		return err
	}
	if err := r.fixed(out.StateDigest[:], "state digest"); err != nil {
		return err
	}
	if err := out.Vec.decode(r); err != nil {
		return err
	}
	out.Round, out.Member = round, member
	*m = out
	return nil
}

// Announce tells peers that member Member's round message for Round has envelope digest Digest and
// encoded size Size, for round messages too large to gossip: peers fetch the envelope over a direct
// stream (MsgRequest) and check it against Digest.
type Announce struct {
	Run    RunID
	Round  uint64
	Member uint32
	Digest Digest
	Size   uint32
}

// Validate checks the member index and that Size fits MaxEnvelope.
func (a *Announce) Validate(lim *Limits) error {
	if a.Member >= lim.MaxMembers {
		return fmt.Errorf("%w: member %d, limit %d", ErrIndex, a.Member, lim.MaxMembers)
	}
	if a.Size == 0 || int64(a.Size) > int64(lim.MaxEnvelope) {
		return fmt.Errorf("%w: announced size %d outside [1, %d]", ErrTooLarge, a.Size, lim.MaxEnvelope)
	}
	return nil
}

func (a *Announce) sizeHint() int { return 1 + 34 + 9 + 5 + 34 + 5 }

func (a *Announce) encode(w *encoder) {
	w.header(5, &a.Run)
	w.uint(a.Round)
	w.uint(uint64(a.Member))
	w.bytes(a.Digest[:])
	w.uint(uint64(a.Size))
}

func (a *Announce) decode(r *decoder) error {
	var out Announce
	if err := r.header(5, "announce", &out.Run); err != nil {
		return err
	}
	round, member, err := r.roundMember()
	if err != nil {
		return err
	}
	if err := r.fixed(out.Digest[:], "digest"); err != nil {
		return err
	}
	size, err := r.uint(maxUint32, "size")
	if err != nil {
		return err
	}
	out.Round, out.Member, out.Size = round, member, uint32(size)
	*a = out
	return nil
}
