package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/vmihailenco/msgpack/v5"
)

// signDomain prefixes every signed byte string, so a byzpp signature can never be mistaken for a
// signature made by the same key in another protocol (or another version of this one).
const signDomain = "byzpp/v1"

// Envelope is a member's signed message: Body is the encoding of the message named by Type, Signer the
// member index of the author, Sig its Ed25519 signature over SigningBytes(Type, Signer, Body).
//
// The signature travels with the bytes (instead of relying on gossipsub's own signing) so that any
// envelope can be checked after it is fetched from a third party: proposals name included messages by
// envelope digest, and whoever aggregates must verify each one no matter who served it.
type Envelope struct {
	Version uint8
	Type    Type
	Signer  uint32
	Body    []byte
	Sig     []byte
}

// SigningBytes is what an envelope's signature covers: "byzpp/v1" || type || signer (4 bytes big
// endian) || body. Binding the signer index means a signature cannot be relabelled as another member's
// even if one key were registered twice.
func SigningBytes(typ Type, signer uint32, body []byte) []byte {
	b := make([]byte, 0, len(signDomain)+1+4+len(body))
	b = append(b, signDomain...)
	b = append(b, byte(typ))
	b = binary.BigEndian.AppendUint32(b, signer)
	return append(b, body...)
}

// Sign makes a version-Version envelope of type typ from signer with the given body. key must be
// Ed25519. Sign does not check that body decodes as typ; SignMessage does.
func Sign(key crypto.PrivKey, typ Type, signer uint32, body []byte) (Envelope, error) {
	if key == nil || key.Type() != cryptopb.KeyType_Ed25519 {
		return Envelope{}, ErrKeyType
	}
	if !typ.Valid() {
		return Envelope{}, fmt.Errorf("%w: envelope type %d", ErrEnum, typ)
	}
	sig, err := key.Sign(SigningBytes(typ, signer, body))
	if err != nil {
		return Envelope{}, fmt.Errorf("wire: signing: %w", err)
	}
	return Envelope{Version: Version, Type: typ, Signer: signer, Body: body, Sig: sig}, nil
}

// SignMessage encodes m, which must be a RoundMsg, Proposal, Vote or Announce, and signs it.
func SignMessage(key crypto.PrivKey, signer uint32, m Message) (Envelope, error) {
	typ, ok := TypeOf(m)
	if !ok {
		return Envelope{}, fmt.Errorf("%w: %T is not an envelope body", ErrEnum, m)
	}
	body, err := Marshal(m)
	if err != nil {
		return Envelope{}, err
	}
	return Sign(key, typ, signer, body)
}

// signingPrefixLen is the length of what SigningBytes puts before the body.
const signingPrefixLen = len(signDomain) + 1 + 4

// SignedBytes returns Marshal of SignMessage(key, signer, m) — the same bytes — made with one buffer
// instead of four: m is encoded once, straight after room for a prefix; the signing prefix is
// written there and the signature made over prefix and body in place; then the envelope's header
// (at most as long as the prefix) overwrites the prefix's end and the signature is appended. A round
// message of a million parameters is 8 MB, and each copy of it costs a sender time and memory.
func SignedBytes(key crypto.PrivKey, signer uint32, m Message) ([]byte, error) {
	typ, ok := TypeOf(m)
	if !ok {
		return nil, fmt.Errorf("%w: %T is not an envelope body", ErrEnum, m)
	}
	if key == nil || key.Type() != cryptopb.KeyType_Ed25519 {
		return nil, ErrKeyType
	}
	lim := DefaultLimits()
	if err := m.Validate(&lim); err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, signingPrefixLen, signingPrefixLen+m.sizeHint()+2+SigSize))
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	enc.Reset(buf)
	w := encoder{e: enc}
	m.encode(&w)
	if w.err != nil {
		return nil, fmt.Errorf("wire: encoding %T: %w", m, w.err)
	}
	b := buf.Bytes()
	body := b[signingPrefixLen:]
	copy(b, signDomain) // b is now SigningBytes(typ, signer, body)
	b[len(signDomain)] = byte(typ)
	binary.BigEndian.PutUint32(b[len(signDomain)+1:signingPrefixLen], signer)
	sig, err := key.Sign(b)
	if err != nil {
		return nil, fmt.Errorf("wire: signing: %w", err)
	}
	env := Envelope{Version: Version, Type: typ, Signer: signer, Body: body, Sig: sig}
	if err := env.Validate(&lim); err != nil {
		return nil, err
	}
	var head bytes.Buffer
	enc.Reset(&head)
	w = encoder{e: enc}
	w.fields(5)
	w.uint(uint64(env.Version))
	w.uint(uint64(env.Type))
	w.uint(uint64(env.Signer))
	if w.err == nil {
		w.err = enc.EncodeBytesLen(len(body))
	}
	if w.err != nil || head.Len() > signingPrefixLen {
		return Marshal(&env) // cannot happen for this version's header; the plain path is still right
	}
	start := signingPrefixLen - head.Len()
	copy(b[start:], head.Bytes())
	enc.Reset(buf)
	w = encoder{e: enc}
	w.bytes(sig)
	if w.err != nil {
		return nil, fmt.Errorf("wire: encoding the signature: %w", w.err)
	}
	return buf.Bytes()[start:], nil
}

// TypeOf returns the envelope type of a body message.
func TypeOf(m Message) (Type, bool) {
	switch m.(type) {
	case *RoundMsg:
		return TypeRound, true
	case *Proposal:
		return TypeProposal, true
	case *Vote:
		return TypeVote, true
	case *Announce:
		return TypeAnnounce, true
	}
	return 0, false
}

// Verify checks the signature with the signer's public key, which must be Ed25519.
func (e *Envelope) Verify(pub crypto.PubKey) error {
	if pub == nil || pub.Type() != cryptopb.KeyType_Ed25519 {
		return ErrKeyType
	}
	if len(e.Sig) != SigSize {
		return fmt.Errorf("%w: signature is %d bytes", ErrSignature, len(e.Sig))
	}
	if !verifySig(pub, SigningBytes(e.Type, e.Signer, e.Body), e.Sig) { // sigverify.go
		return fmt.Errorf("%w: %v from signer %d", ErrSignature, e.Type, e.Signer)
	}
	return nil
}

// Digest is the SHA-256 of the envelope's encoding. Decoding is canonical (one accepted encoding per
// envelope), so this equals the SHA-256 of the bytes the envelope was received as.
func (e *Envelope) Digest() Digest {
	h := sha256.New()
	enc := msgpack.GetEncoder()
	enc.Reset(h)
	w := encoder{e: enc}
	e.encode(&w)
	msgpack.PutEncoder(enc)
	var d Digest
	h.Sum(d[:0])
	return d
}

// Open decodes the envelope's body according to its type, returning a *RoundMsg, *Proposal, *Vote or
// *Announce. It does not verify the signature.
func (e *Envelope) Open(lim Limits) (Message, error) {
	return DecodeBody(e.Type, e.Body, lim)
}

// DecodeBody decodes an envelope body of type typ.
func DecodeBody(typ Type, body []byte, lim Limits) (Message, error) {
	var m Message
	switch typ {
	case TypeRound:
		m = new(RoundMsg)
	case TypeProposal:
		m = new(Proposal)
	case TypeVote:
		m = new(Vote)
	case TypeAnnounce:
		m = new(Announce)
	default:
		return nil, fmt.Errorf("%w: envelope type %d", ErrEnum, typ)
	}
	if err := Unmarshal(body, m, lim); err != nil {
		return nil, fmt.Errorf("%v body: %w", typ, err)
	}
	return m, nil
}

// Validate checks the version, type, signer index, body size and signature length.
func (e *Envelope) Validate(lim *Limits) error {
	if e.Version != Version {
		return fmt.Errorf("%w: %d", ErrVersion, e.Version)
	}
	if !e.Type.Valid() {
		return fmt.Errorf("%w: envelope type %d", ErrEnum, e.Type)
	}
	if e.Signer >= lim.MaxMembers {
		return fmt.Errorf("%w: signer %d, limit %d", ErrIndex, e.Signer, lim.MaxMembers)
	}
	if len(e.Body) > lim.MaxEnvelope {
		return fmt.Errorf("%w: body is %d bytes, limit %d", ErrTooLarge, len(e.Body), lim.MaxEnvelope)
	}
	if len(e.Sig) != SigSize {
		return fmt.Errorf("%w: signature is %d bytes", ErrMalformed, len(e.Sig))
	}
	return nil
}

func (e *Envelope) sizeHint() int { return 1 + 1 + 2 + 5 + 5 + len(e.Body) + 2 + len(e.Sig) }

// encode writes [Version, Type, Signer, Body, Sig].
func (e *Envelope) encode(w *encoder) {
	w.fields(5)
	w.uint(uint64(e.Version))
	w.uint(uint64(e.Type))
	w.uint(uint64(e.Signer))
	w.bytes(e.Body)
	w.bytes(e.Sig)
}

// decode reads the version before insisting on the field count, so an envelope of a future version
// with a different layout is reported as ErrVersion rather than as malformed.
func (e *Envelope) decode(r *decoder) error {
	n, err := r.arrayLen(16, "envelope")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: empty envelope", ErrMalformed)
	}
	v, err := r.uint(math.MaxUint8, "version")
	if err != nil {
		return err
	}
	if v != Version {
		return fmt.Errorf("%w: %d", ErrVersion, v)
	}
	if n != 5 {
		return fmt.Errorf("%w: envelope has %d fields, want 5", ErrMalformed, n)
	}
	typ, err := r.uint(math.MaxUint8, "type")
	if err != nil {
		return err
	}
	signer, err := r.uint(maxUint32, "signer")
	if err != nil {
		return err
	}
	body, err := r.sharedBytes(r.lim.MaxEnvelope, "body") // a sub-slice of Unmarshal's input
	if err != nil {
		return err
	}
	var sig [SigSize]byte
	if err := r.fixed(sig[:], "signature"); err != nil {
		return err
	}
	*e = Envelope{Version: uint8(v), Type: Type(typ), Signer: uint32(signer), Body: body, Sig: sig[:]}
	return nil
}
