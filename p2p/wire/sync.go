package wire

import "fmt"

// StateRequest asks a peer for the latest agreed state at or after consensus height FromHeight, so a
// peer that fell behind or just joined can catch up without replaying every round.
type StateRequest struct {
	Run        RunID
	FromHeight uint64
}

// Validate has nothing to check beyond the encoding; it exists so StateRequest is a Message.
func (s *StateRequest) Validate(*Limits) error { return nil }

func (s *StateRequest) sizeHint() int { return 1 + 34 + 9 }

func (s *StateRequest) encode(w *encoder) {
	w.header(2, &s.Run)
	w.uint(s.FromHeight)
}

func (s *StateRequest) decode(r *decoder) error {
	var out StateRequest
	if err := r.header(2, "state request", &out.Run); err != nil {
		return err
	}
	h, err := r.uint(maxUint64, "from height")
	if err != nil {
		return err
	}
	out.FromHeight = h
	*s = out
	return nil
}

// StateResponse carries an agreed model state — the round Round, x^k (X) and g^k (G) — together with
// the proposal decided at consensus height Height and the certificate that decided it, so the receiver
// can check the decision (Cert.Verify, Cert.Value == Proposal.ValueID()) before trusting the state.
type StateResponse struct {
	Run      RunID
	Height   uint64
	Round    uint64
	X        []float64
	G        []float64
	Proposal Proposal
	Cert     Certificate
	// Changes proves every membership change decided since genesis, in order (open runs): a peer that
	// knows only the genesis members checks them one by one to learn who must have signed Cert. It
	// travels as an optional eighth field.
	Changes []ChangeProof
}

// Validate checks the vectors (same length 1..MaxDim, finite), the proposal and certificate shapes, and
// that run, height and value agree among the three parts. Signatures are left to Cert.Verify.
func (s *StateResponse) Validate(lim *Limits) error {
	if len(s.X) == 0 || len(s.X) > int(lim.MaxDim) || len(s.G) != len(s.X) {
		return fmt.Errorf("%w: state vectors of length %d and %d, limit %d", ErrDimension, len(s.X), len(s.G), lim.MaxDim)
	}
	if err := checkFinite(s.X, "state x"); err != nil {
		return err
	}
	if err := checkFinite(s.G, "state g"); err != nil {
		return err
	}
	if err := s.Proposal.Validate(lim); err != nil {
		return fmt.Errorf("state proposal: %w", err)
	}
	if err := s.Cert.Validate(lim); err != nil {
		return fmt.Errorf("state certificate: %w", err)
	}
	if s.Proposal.Run != s.Run || s.Cert.Run != s.Run {
		return fmt.Errorf("%w: state response mixes runs", ErrMalformed)
	}
	if s.Proposal.Height != s.Height || s.Cert.Height != s.Height {
		return fmt.Errorf("%w: state response mixes heights", ErrMalformed)
	}
	if s.Cert.Value != s.Proposal.ValueID() {
		return fmt.Errorf("%w: certificate value is not the proposal's value", ErrMalformed)
	}
	if len(s.Changes) > MaxChanges {
		return fmt.Errorf("%w: %d membership changes, limit %d", ErrTooLarge, len(s.Changes), MaxChanges)
	}
	for j := range s.Changes {
		c := &s.Changes[j]
		if err := c.Validate(lim); err != nil {
			return fmt.Errorf("membership change %d: %w", j, err)
		}
		if c.Proposal.Run != s.Run || c.Proposal.Height > s.Height || (j > 0 && c.Proposal.Height <= s.Changes[j-1].Proposal.Height) {
			return fmt.Errorf("%w: membership change %d out of order or of another run", ErrMalformed, j)
		}
	}
	return nil
}

func (s *StateResponse) sizeHint() int {
	n := 1 + 34 + 9 + 9 + 5 + 8*len(s.X) + 5 + 8*len(s.G) + s.Proposal.sizeHint() + s.Cert.sizeHint() + 5
	for j := range s.Changes {
		n += s.Changes[j].sizeHint()
	}
	return n
}

func (s *StateResponse) encode(w *encoder) {
	if len(s.Changes) > 0 {
		w.header(8, &s.Run)
	} else {
		w.header(7, &s.Run)
	}
	w.uint(s.Height)
	w.uint(s.Round)
	w.floats(s.X)
	w.floats(s.G)
	s.Proposal.encode(w)
	s.Cert.encode(w)
	writeTrailing(w, s.Changes)
}

func (s *StateResponse) decode(r *decoder) error {
	var out StateResponse
	nf, err := r.fieldsBetween(7, 8, "state response")
	if err != nil {
		return err
	}
	if err := r.fixed(out.Run[:], "run"); err != nil {
		return err
	}
	if out.Height, err = r.uint(maxUint64, "height"); err != nil {
		return err
	}
	if out.Round, err = r.uint(maxUint64, "round"); err != nil {
		return err
	}
	if out.X, err = r.floats(int(r.lim.MaxDim), "state x"); err != nil {
		return err
	}
	if out.G, err = r.floats(len(out.X), "state g"); err != nil {
		return err
	}
	if err := out.Proposal.decode(r); err != nil {
		return fmt.Errorf("state proposal: %w", err)
	}
	if err := out.Cert.decode(r); err != nil {
		return fmt.Errorf("state certificate: %w", err)
	}
	if nf == 8 {
		if out.Changes, err = readTrailing[ChangeProof](r, MaxChanges, "membership change"); err != nil {
			return err
		}
	}
	*s = out
	return nil
}

// MsgRequest asks a peer for the signed envelopes with the given digests — included round messages the
// requester has not received.
type MsgRequest struct {
	Run     RunID
	Digests []Digest
}

// Validate checks 1..MaxDigests digests.
func (m *MsgRequest) Validate(lim *Limits) error {
	if len(m.Digests) == 0 || len(m.Digests) > lim.MaxDigests {
		return fmt.Errorf("%w: %d digests, want 1..%d", ErrTooLarge, len(m.Digests), lim.MaxDigests)
	}
	return nil
}

func (m *MsgRequest) sizeHint() int { return 1 + 34 + 5 + 32*len(m.Digests) }

// encode writes [Run, digests as one bin].
func (m *MsgRequest) encode(w *encoder) {
	w.header(2, &m.Run)
	all := make([]byte, 0, 32*len(m.Digests))
	for _, d := range m.Digests {
		all = append(all, d[:]...)
	}
	w.bytes(all)
}

func (m *MsgRequest) decode(r *decoder) error {
	var out MsgRequest
	if err := r.header(2, "message request", &out.Run); err != nil {
		return err
	}
	n, err := r.blockLen(32, r.lim.MaxDigests, "digests")
	if err != nil {
		return err
	}
	out.Digests = make([]Digest, n)
	err = r.readBlocks(n, 32, "digests", func(chunk []byte, first int) {
		for j := 0; j < len(chunk)/32; j++ {
			out.Digests[first+j] = Digest(chunk[32*j : 32*j+32])
		}
	})
	if err != nil {
		return err
	}
	*m = out
	return nil
}

// MsgResponse returns the requested envelopes that the responder has, each as its encoded bytes (decode
// each with Unmarshal into an Envelope and check its digest against the request). Missing ones are
// simply absent.
type MsgResponse struct {
	Envelopes [][]byte
}

// Validate checks at most MaxDigests envelopes of at most MaxEnvelope bytes each.
func (m *MsgResponse) Validate(lim *Limits) error {
	if len(m.Envelopes) > lim.MaxDigests {
		return fmt.Errorf("%w: %d envelopes, limit %d", ErrTooLarge, len(m.Envelopes), lim.MaxDigests)
	}
	for j, e := range m.Envelopes {
		if len(e) == 0 || len(e) > lim.MaxEnvelope {
			return fmt.Errorf("%w: envelope %d is %d bytes, want 1..%d", ErrTooLarge, j, len(e), lim.MaxEnvelope)
		}
	}
	return nil
}

func (m *MsgResponse) sizeHint() int {
	n := 5
	for _, e := range m.Envelopes {
		n += 5 + len(e)
	}
	return n
}

// encode writes [array of bins].
func (m *MsgResponse) encode(w *encoder) {
	w.fields(1)
	w.fields(len(m.Envelopes))
	for _, e := range m.Envelopes {
		w.bytes(e)
	}
}

func (m *MsgResponse) decode(r *decoder) error {
	if err := r.fields(1, "message response"); err != nil {
		return err
	}
	n, err := r.arrayLen(r.lim.MaxDigests, "envelopes")
	if err != nil {
		return err
	}
	var out MsgResponse
	if n > 0 {
		out.Envelopes = make([][]byte, n)
	}
	for j := range out.Envelopes {
		if out.Envelopes[j], err = r.bytes(r.lim.MaxEnvelope, "envelope"); err != nil {
			return err
		}
	}
	*m = out
	return nil
}
