package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
)

// Membership changes (open runs). A proposal may carry operations on the member list besides its
// training content; consensus decides them with it, so every honest peer applies the same changes at
// the same round. Join and Leave are signed by the peer concerned (a leader cannot add or drop someone
// against their will); Remove names a member that stopped voting and carries no signature — each
// validator checks the silence against what it saw itself.

// OpKind names a membership operation. The values are part of the wire contract.
type OpKind uint8

const (
	OpJoin   OpKind = 1 // a peer asks to become a member
	OpLeave  OpKind = 2 // a member asks to stop being one
	OpRemove OpKind = 3 // a member silent for too long is removed
)

func (k OpKind) String() string {
	switch k {
	case OpJoin:
		return "join"
	case OpLeave:
		return "leave"
	case OpRemove:
		return "remove"
	}
	return "unknown"
}

// Limits of membership operations.
const (
	// MaxOps bounds the operations in one proposal.
	MaxOps = 16
	// MaxPeerIDLen bounds a peer ID's binary form (an identity multihash of an Ed25519 key is 38 bytes).
	MaxPeerIDLen = 128
	// MaxOpSig bounds an operation's signature (Ed25519: 64 bytes).
	MaxOpSig = 128
	// MaxChanges bounds the membership changes a state response proves.
	MaxChanges = 1 << 12
)

// MemberOp is one membership operation. Peer is the binary form of the libp2p peer ID concerned.
// Height is the consensus height at which the peer asked (Join, Leave; it bounds how long a request
// stays valid and makes an old request unusable after a later change) or at which the leader proposed
// the removal (Remove). Sig is the peer's signature over SigningBytes (empty for Remove).
type MemberOp struct {
	Kind   OpKind
	Peer   []byte
	Height uint64
	Sig    []byte
}

// OpSigningBytes is what the peer signs for a Join or Leave: a domain tag, the run, the kind, the
// height and the peer ID.
func (o *MemberOp) OpSigningBytes(run RunID) []byte {
	var b bytes.Buffer
	b.WriteString("byzpp/member-op/v1")
	b.Write(run[:])
	b.WriteByte(byte(o.Kind))
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], o.Height)
	b.Write(buf[:])
	b.Write(o.Peer)
	return b.Bytes()
}

// Validate checks the kind, the peer ID's length and that exactly Join and Leave carry a signature.
func (o *MemberOp) Validate(*Limits) error {
	if o.Kind < OpJoin || o.Kind > OpRemove {
		return fmt.Errorf("%w: membership operation kind %d", ErrEnum, o.Kind)
	}
	if len(o.Peer) == 0 || len(o.Peer) > MaxPeerIDLen {
		return fmt.Errorf("%w: peer ID of %d bytes", ErrMalformed, len(o.Peer))
	}
	signed := o.Kind != OpRemove
	if signed && (len(o.Sig) == 0 || len(o.Sig) > MaxOpSig) {
		return fmt.Errorf("%w: %s with a signature of %d bytes", ErrMalformed, o.Kind, len(o.Sig))
	}
	if !signed && len(o.Sig) != 0 {
		return fmt.Errorf("%w: remove carries no signature", ErrMalformed)
	}
	return nil
}

func (o *MemberOp) sizeHint() int { return 1 + 2 + 2 + len(o.Peer) + 9 + 2 + len(o.Sig) }

// encode writes [Kind, Peer, Height, Sig].
func (o *MemberOp) encode(w *encoder) {
	w.fields(4)
	w.uint(uint64(o.Kind))
	w.bytes(o.Peer)
	w.uint(o.Height)
	w.bytes(o.Sig)
}

func (o *MemberOp) decode(r *decoder) error {
	if err := r.fields(4, "membership operation"); err != nil {
		return err
	}
	kind, err := r.uint(uint64(OpRemove), "operation kind")
	if err != nil {
		return err
	}
	var out MemberOp
	out.Kind = OpKind(kind)
	if out.Peer, err = r.bytes(MaxPeerIDLen, "operation peer"); err != nil {
		return err
	}
	if out.Height, err = r.uint(maxUint64, "operation height"); err != nil {
		return err
	}
	if out.Sig, err = r.bytes(MaxOpSig, "operation signature"); err != nil {
		return err
	}
	if len(out.Sig) == 0 {
		out.Sig = nil
	}
	*o = out
	return nil
}

// hashOps extends a value id with the operations, in order; nothing is added when there are none, so
// a proposal without operations keeps the value id it always had.
func hashOps(h io.Writer, ops []MemberOp) {
	if len(ops) == 0 {
		return
	}
	var buf [8]byte
	h.Write([]byte("ops"))
	binary.LittleEndian.PutUint32(buf[:4], uint32(len(ops)))
	h.Write(buf[:4])
	for _, o := range ops {
		h.Write([]byte{byte(o.Kind)})
		binary.LittleEndian.PutUint64(buf[:], o.Height)
		h.Write(buf[:])
		binary.LittleEndian.PutUint32(buf[:4], uint32(len(o.Peer)))
		h.Write(buf[:4])
		h.Write(o.Peer)
		binary.LittleEndian.PutUint32(buf[:4], uint32(len(o.Sig)))
		h.Write(buf[:4])
		h.Write(o.Sig)
	}
}

// OpKey identifies an operation regardless of its signature bytes: kind, peer, height.
func (o *MemberOp) OpKey() [32]byte {
	h := sha256.New()
	h.Write([]byte{byte(o.Kind)})
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], o.Height)
	h.Write(buf[:])
	h.Write(o.Peer)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// ChangeProof proves one decided membership change: the decided proposal (with its operations) and the
// certificate of its decision. Whoever knows the member list in force at Proposal.Height can check it.
type ChangeProof struct {
	Proposal Proposal
	Cert     Certificate
}

// Validate checks both parts and that the certificate signs the proposal's value.
func (c *ChangeProof) Validate(lim *Limits) error {
	if err := c.Proposal.Validate(lim); err != nil {
		return fmt.Errorf("change proposal: %w", err)
	}
	if len(c.Proposal.Ops) == 0 {
		return fmt.Errorf("%w: a membership change without operations", ErrMalformed)
	}
	if err := c.Cert.Validate(lim); err != nil {
		return fmt.Errorf("change certificate: %w", err)
	}
	if c.Cert.Run != c.Proposal.Run || c.Cert.Height != c.Proposal.Height || c.Cert.Value != c.Proposal.ValueID() {
		return fmt.Errorf("%w: change certificate does not sign the change's proposal", ErrMalformed)
	}
	return nil
}

func (c *ChangeProof) sizeHint() int { return 1 + c.Proposal.sizeHint() + c.Cert.sizeHint() }

func (c *ChangeProof) encode(w *encoder) {
	w.fields(2)
	c.Proposal.encode(w)
	c.Cert.encode(w)
}

func (c *ChangeProof) decode(r *decoder) error {
	if err := r.fields(2, "change proof"); err != nil {
		return err
	}
	var out ChangeProof
	if err := out.Proposal.decode(r); err != nil {
		return fmt.Errorf("change proposal: %w", err)
	}
	if err := out.Cert.decode(r); err != nil {
		return fmt.Errorf("change certificate: %w", err)
	}
	*c = out
	return nil
}

// MemberRequest carries one signed Join or Leave from the peer concerned to a member (stream
// protocol member/1), which keeps it for the proposals it leads.
type MemberRequest struct {
	Run RunID
	Op  MemberOp
}

// Validate checks the operation; only Join and Leave can be requested.
func (m *MemberRequest) Validate(lim *Limits) error {
	if m.Op.Kind == OpRemove {
		return fmt.Errorf("%w: a removal cannot be requested", ErrEnum)
	}
	return m.Op.Validate(lim)
}

func (m *MemberRequest) sizeHint() int { return 1 + 34 + m.Op.sizeHint() }

func (m *MemberRequest) encode(w *encoder) {
	w.header(2, &m.Run)
	m.Op.encode(w)
}

func (m *MemberRequest) decode(r *decoder) error {
	var out MemberRequest
	if err := r.header(2, "member request", &out.Run); err != nil {
		return err
	}
	if err := out.Op.decode(r); err != nil {
		return err
	}
	*m = out
	return nil
}
