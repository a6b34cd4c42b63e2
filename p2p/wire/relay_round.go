package wire

import (
	"encoding/binary"
	"fmt"
)

// AuthRound is a signed round message envelope with its authenticator (MACs[j] for member j), sent
// by its author to a leader that forwards it (relay.go describes the frame).
type AuthRound struct {
	Envelope []byte
	MACs     []MAC
}

// RelayedRound is one round message of a RoundBundle with the MAC meant for the bundle's receiver.
type RelayedRound struct {
	Envelope []byte
	MAC      MAC
}

// RoundBundle is the round messages a leader forwards to one member.
type RoundBundle struct {
	Msgs []RelayedRound
}

// MaxBundleRounds is the most round messages one bundle may hold under lim: one per member (a full
// round samples everyone).
func MaxBundleRounds(lim Limits) int { return int(lim.MaxMembers) }

// maxRoundEnvelope bounds a round envelope in a frame encoded without limits at hand.
func maxRoundEnvelope() int { return DefaultLimits().MaxEnvelope }

func checkRoundEnvelope(n int, limit int) error {
	if n == 0 || n > limit {
		return fmt.Errorf("%w: round envelope of %d bytes (1 to %d)", ErrTooLarge, n, limit)
	}
	return nil
}

// Marshal encodes a; it refuses what DecodeAuthRound under DefaultLimits would refuse.
func (a *AuthRound) Marshal() ([]byte, error) {
	if err := checkRoundEnvelope(len(a.Envelope), maxRoundEnvelope()); err != nil {
		return nil, err
	}
	if len(a.MACs) == 0 || len(a.MACs) > DefaultMaxMembers {
		return nil, fmt.Errorf("%w: %d MACs", ErrTooLarge, len(a.MACs))
	}
	b := make([]byte, 0, 3+4+len(a.Envelope)+2+MACSize*len(a.MACs))
	b = append(b, RelayMarker, byte(KindAuthRound), RelayVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(a.Envelope)))
	b = append(b, a.Envelope...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.MACs)))
	for i := range a.MACs {
		b = append(b, a.MACs[i][:]...)
	}
	return b, nil
}

// DecodeAuthRound decodes an AuthRound frame; at most lim.MaxMembers MACs are accepted.
func DecodeAuthRound(data []byte, lim Limits) (AuthRound, error) {
	r, err := openRelay(data, KindAuthRound, lim)
	if err != nil {
		return AuthRound{}, err
	}
	var a AuthRound
	if a.Envelope, err = r.roundEnvelope(); err != nil {
		return AuthRound{}, err
	}
	n, err := r.u16("MAC count")
	if err != nil {
		return AuthRound{}, err
	}
	if n == 0 || n > int(lim.MaxMembers) {
		return AuthRound{}, fmt.Errorf("%w: %d MACs, limit %d", ErrTooLarge, n, lim.MaxMembers)
	}
	if len(r.b) != n*MACSize {
		return AuthRound{}, relayLengthErr("MACs", n*MACSize, len(r.b))
	}
	a.MACs = make([]MAC, n)
	for i := range a.MACs {
		copy(a.MACs[i][:], r.b[i*MACSize:])
	}
	return a, nil
}

// Marshal encodes v; it refuses what DecodeRoundBundle under DefaultLimits would refuse.
func (v *RoundBundle) Marshal() ([]byte, error) {
	if len(v.Msgs) == 0 || len(v.Msgs) > MaxBundleRounds(DefaultLimits()) {
		return nil, fmt.Errorf("%w: %d round messages in a bundle", ErrTooLarge, len(v.Msgs))
	}
	size := 3 + 2
	for _, m := range v.Msgs {
		if err := checkRoundEnvelope(len(m.Envelope), maxRoundEnvelope()); err != nil {
			return nil, err
		}
		size += 4 + len(m.Envelope) + MACSize
	}
	b := make([]byte, 0, size)
	b = append(b, RelayMarker, byte(KindRoundBundle), RelayVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v.Msgs)))
	for _, m := range v.Msgs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(m.Envelope)))
		b = append(b, m.Envelope...)
		b = append(b, m.MAC[:]...)
	}
	return b, nil
}

// DecodeRoundBundle decodes a RoundBundle frame of at most MaxBundleRounds(lim) messages.
func DecodeRoundBundle(data []byte, lim Limits) (RoundBundle, error) {
	r, err := openRelay(data, KindRoundBundle, lim)
	if err != nil {
		return RoundBundle{}, err
	}
	n, err := r.u16("message count")
	if err != nil {
		return RoundBundle{}, err
	}
	if n == 0 || n > MaxBundleRounds(lim) {
		return RoundBundle{}, fmt.Errorf("%w: %d round messages in a bundle, limit %d", ErrTooLarge, n, MaxBundleRounds(lim))
	}
	if len(r.b) < n*(4+1+MACSize) {
		return RoundBundle{}, relayLengthErr("round messages", n*(4+1+MACSize), len(r.b))
	}
	out := RoundBundle{Msgs: make([]RelayedRound, n)}
	for i := range out.Msgs {
		m := &out.Msgs[i]
		if m.Envelope, err = r.roundEnvelope(); err != nil {
			return RoundBundle{}, err
		}
		if len(r.b) < MACSize {
			return RoundBundle{}, relayLengthErr("MAC", MACSize, len(r.b))
		}
		copy(m.MAC[:], r.b)
		r.b = r.b[MACSize:]
	}
	if len(r.b) != 0 {
		return RoundBundle{}, fmt.Errorf("%w: %d bytes after the bundle", ErrTrailing, len(r.b))
	}
	return out, nil
}

// roundEnvelope reads a 32-bit length-prefixed round envelope (a sub-slice of the input).
func (r *relayReader) roundEnvelope() ([]byte, error) {
	if len(r.b) < 4 {
		return nil, relayLengthErr("envelope length", 4, len(r.b))
	}
	n := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	if n == 0 || n > uint32(r.lim.MaxEnvelope) || n > uint32(maxRoundEnvelope()) {
		return nil, fmt.Errorf("%w: round envelope of %d bytes, limit %d", ErrTooLarge, n, r.lim.MaxEnvelope)
	}
	if uint32(len(r.b)) < n {
		return nil, relayLengthErr("envelope", int(n), len(r.b))
	}
	env := r.b[:n:n]
	r.b = r.b[n:]
	return env, nil
}
