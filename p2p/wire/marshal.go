package wire

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Message is implemented by every wire type. The unexported methods seal the set: only this package's
// hand-written encoders and decoders ever touch network bytes.
type Message interface {
	// Validate checks the semantic rules (ranges, ordering, finiteness) against lim.
	Validate(lim *Limits) error
	msgpack.CustomEncoder
	msgpack.CustomDecoder

	encode(w *encoder)
	decode(r *decoder) error
	sizeHint() int
}

// Marshal validates m against DefaultLimits and encodes it. Refusing to encode an invalid message means
// an honest peer never sends something its peers would reject.
func Marshal(m Message) ([]byte, error) {
	lim := DefaultLimits()
	if err := m.Validate(&lim); err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, m.sizeHint()))
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	enc.Reset(buf)
	w := encoder{e: enc}
	m.encode(&w)
	if w.err != nil {
		return nil, fmt.Errorf("wire: encoding %T: %w", m, w.err)
	}
	return buf.Bytes(), nil
}

// Unmarshal decodes data into m under lim: every length is checked against lim and against the bytes
// present before anything is allocated, the encoding must be canonical, no bytes may follow the message,
// and the result must pass m.Validate. On error the contents of m are unspecified. An Envelope's Body
// is a sub-slice of data, not a copy: data must not change while the envelope is in use.
func Unmarshal(data []byte, m Message, lim Limits) error {
	if err := lim.Validate(); err != nil {
		return err
	}
	if len(data) > lim.MaxMessage {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxMessage)
	}
	if _, ok := m.(*Envelope); ok && len(data) > lim.MaxEnvelope {
		return fmt.Errorf("%w: envelope of %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxEnvelope)
	}
	src := bytes.NewReader(data)
	dec := msgpack.GetDecoder()
	defer msgpack.PutDecoder(dec)
	dec.Reset(src)
	r := newDecoder(dec, &lim)
	r.src, r.at = data, src
	if err := m.decode(r); err != nil {
		return err
	}
	if src.Len() != 0 {
		return fmt.Errorf("%w: %d bytes after the message", ErrTrailing, src.Len())
	}
	return m.Validate(&lim)
}

// encodeCustom and decodeCustom implement msgpack.CustomEncoder / CustomDecoder for every message, so a
// wire type embedded in some other msgpack structure still goes through the checked path (under
// DefaultLimits).
func encodeCustom(e *msgpack.Encoder, m Message) error {
	lim := DefaultLimits()
	if err := m.Validate(&lim); err != nil {
		return err
	}
	w := encoder{e: e}
	m.encode(&w)
	return w.err
}

func decodeCustom(d *msgpack.Decoder, m Message) error {
	lim := DefaultLimits()
	if err := m.decode(newDecoder(d, &lim)); err != nil {
		return err
	}
	return m.Validate(&lim)
}

func (m *RoundMsg) EncodeMsgpack(e *msgpack.Encoder) error      { return encodeCustom(e, m) }
func (m *RoundMsg) DecodeMsgpack(d *msgpack.Decoder) error      { return decodeCustom(d, m) }
func (a *Announce) EncodeMsgpack(e *msgpack.Encoder) error      { return encodeCustom(e, a) }
func (a *Announce) DecodeMsgpack(d *msgpack.Decoder) error      { return decodeCustom(d, a) }
func (p *Proposal) EncodeMsgpack(e *msgpack.Encoder) error      { return encodeCustom(e, p) }
func (p *Proposal) DecodeMsgpack(d *msgpack.Decoder) error      { return decodeCustom(d, p) }
func (v *Vote) EncodeMsgpack(e *msgpack.Encoder) error          { return encodeCustom(e, v) }
func (v *Vote) DecodeMsgpack(d *msgpack.Decoder) error          { return decodeCustom(d, v) }
func (c *Certificate) EncodeMsgpack(e *msgpack.Encoder) error   { return encodeCustom(e, c) }
func (c *Certificate) DecodeMsgpack(d *msgpack.Decoder) error   { return decodeCustom(d, c) }
func (s *StateRequest) EncodeMsgpack(e *msgpack.Encoder) error  { return encodeCustom(e, s) }
func (s *StateRequest) DecodeMsgpack(d *msgpack.Decoder) error  { return decodeCustom(d, s) }
func (s *StateResponse) EncodeMsgpack(e *msgpack.Encoder) error { return encodeCustom(e, s) }
func (s *StateResponse) DecodeMsgpack(d *msgpack.Decoder) error { return decodeCustom(d, s) }
func (m *MsgRequest) EncodeMsgpack(e *msgpack.Encoder) error    { return encodeCustom(e, m) }
func (m *MsgRequest) DecodeMsgpack(d *msgpack.Decoder) error    { return decodeCustom(d, m) }
func (m *MsgResponse) EncodeMsgpack(e *msgpack.Encoder) error   { return encodeCustom(e, m) }
func (m *MsgResponse) DecodeMsgpack(d *msgpack.Decoder) error   { return decodeCustom(d, m) }
func (c *ChangeProof) EncodeMsgpack(e *msgpack.Encoder) error   { return encodeCustom(e, c) }
func (c *ChangeProof) DecodeMsgpack(d *msgpack.Decoder) error   { return decodeCustom(d, c) }
func (m *MemberRequest) EncodeMsgpack(e *msgpack.Encoder) error { return encodeCustom(e, m) }
func (m *MemberRequest) DecodeMsgpack(d *msgpack.Decoder) error { return decodeCustom(d, m) }
func (e *Envelope) EncodeMsgpack(enc *msgpack.Encoder) error    { return encodeCustom(enc, e) }
func (e *Envelope) DecodeMsgpack(d *msgpack.Decoder) error      { return decodeCustom(d, e) }
