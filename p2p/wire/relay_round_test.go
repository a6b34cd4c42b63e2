package wire

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// sampleRoundEnvelope is a signed round message envelope of dim coordinates.
func sampleRoundEnvelope(t testing.TB, signer, dim int) []byte {
	t.Helper()
	priv, _ := testKeys(t, signer+1)
	vals := make([]float64, dim)
	for i := range vals {
		vals[i] = float64(i) / 3
	}
	env, err := SignMessage(priv[signer], uint32(signer), &RoundMsg{Run: RunID(digestOf(9)), Round: 8, Member: uint32(signer),
		StateDigest: digestOf(4), Vec: Vector{Dim: uint32(dim), Values: vals}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Marshal(&env)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func sampleRoundBundle(t testing.TB, n int) RoundBundle {
	var b RoundBundle
	for i := range n {
		m := RelayedRound{Envelope: sampleRoundEnvelope(t, i%3, 60)}
		m.MAC[0], m.MAC[15] = byte(i), 7
		b.Msgs = append(b.Msgs, m)
	}
	return b
}

func TestRoundFramesRoundTrip(t *testing.T) {
	lim := LimitsFor(124, 8)
	a := AuthRound{Envelope: sampleRoundEnvelope(t, 1, 124), MACs: make([]MAC, 8)}
	a.MACs[3][2] = 9
	raw, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if k, err := RelayFrameKind(raw); err != nil || k != KindAuthRound {
		t.Fatalf("kind %v, %v", k, err)
	}
	got, err := DecodeAuthRound(raw, lim)
	if err != nil || !bytes.Equal(got.Envelope, a.Envelope) || !slices.Equal(got.MACs, a.MACs) {
		t.Fatalf("AuthRound round trip: %v", err)
	}
	b := sampleRoundBundle(t, 3)
	raw, err = b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	gb, err := DecodeRoundBundle(raw, lim)
	if err != nil || len(gb.Msgs) != 3 {
		t.Fatalf("RoundBundle round trip: %d messages, %v", len(gb.Msgs), err)
	}
	for i := range b.Msgs {
		if !bytes.Equal(gb.Msgs[i].Envelope, b.Msgs[i].Envelope) || gb.Msgs[i].MAC != b.Msgs[i].MAC {
			t.Fatalf("message %d changed in a round trip", i)
		}
	}
}

func TestRoundFramesReject(t *testing.T) {
	lim := LimitsFor(124, 8)
	a := AuthRound{Envelope: sampleRoundEnvelope(t, 1, 124), MACs: make([]MAC, 8)}
	auth, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b := sampleRoundBundle(t, 2)
	bundle, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	big := AuthRound{Envelope: sampleRoundEnvelope(t, 1, 400), MACs: make([]MAC, 8)}
	bigRaw, err := big.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	with := func(b []byte, i int, v byte) []byte { c := bytes.Clone(b); c[i] = v; return c }
	for _, c := range []struct {
		name   string
		data   []byte
		bundle bool
		want   error
	}{
		{"auth: truncated", auth[:len(auth)-1], false, ErrMalformed},
		{"auth: trailing", append(bytes.Clone(auth), 0), false, ErrTrailing},
		{"auth: envelope over the run's limit", bigRaw, false, ErrTooLarge},
		{"auth: envelope length 0", with(with(with(with(auth, 3, 0), 4, 0), 5, 0), 6, 0), false, ErrTooLarge},
		{"auth: envelope length beyond the input", with(auth, 5, 0x7f), false, ErrTooLarge},
		{"auth: bundle kind", auth, true, ErrMalformed},
		{"bundle: truncated", bundle[:len(bundle)-2], true, ErrMalformed},
		{"bundle: trailing", append(bytes.Clone(bundle), 1), true, ErrTrailing},
		{"bundle: zero messages", []byte{RelayMarker, byte(KindRoundBundle), RelayVersion, 0, 0}, true, ErrTooLarge},
		{"bundle: count over the cap", []byte{RelayMarker, byte(KindRoundBundle), RelayVersion, 0, 9}, true, ErrTooLarge},
		{"bundle: count the bytes cannot hold", with(bundle, 4, 8), true, ErrMalformed},
	} {
		var err error
		if c.bundle {
			_, err = DecodeRoundBundle(c.data, lim)
		} else {
			_, err = DecodeAuthRound(c.data, lim)
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := (&RoundBundle{}).Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("empty bundle: %v", err)
	}
	if _, err := (&AuthRound{Envelope: []byte{1}}).Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("no MACs: %v", err)
	}
}

func FuzzDecodeAuthRound(f *testing.F) {
	a := AuthRound{Envelope: sampleRoundEnvelope(f, 1, 20), MACs: make([]MAC, 4)}
	fuzzRelayFrame(f, [][]byte{mustMarshal(f, &a)}, DecodeAuthRound,
		func(a AuthRound, lim Limits) string { return authCaps(a.Envelope, a.MACs, lim, lim.MaxEnvelope) },
		func(a AuthRound) ([]byte, error) { return a.Marshal() })
}

func FuzzDecodeRoundBundle(f *testing.F) {
	b := sampleRoundBundle(f, 2)
	fuzzRelayFrame(f, [][]byte{mustMarshal(f, &b)}, DecodeRoundBundle,
		func(b RoundBundle, lim Limits) string {
			if len(b.Msgs) == 0 || len(b.Msgs) > MaxBundleRounds(lim) {
				return fmt.Sprintf("%d messages", len(b.Msgs))
			}
			return ""
		},
		func(b RoundBundle) ([]byte, error) { return b.Marshal() })
}
