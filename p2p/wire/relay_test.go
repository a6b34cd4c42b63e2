package wire

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func sampleVoteEnvelope(t testing.TB, signer int) []byte {
	t.Helper()
	priv, _ := testKeys(t, signer+1)
	env, err := SignMessage(priv[signer], uint32(signer), &Vote{Run: RunID(digestOf(9)), Type: Prevote, Height: 7, Round: 0, Value: digestOf(3)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Marshal(&env)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func sampleAuthVote(t testing.TB, members int) AuthVote {
	a := AuthVote{Envelope: sampleVoteEnvelope(t, 1), MACs: make([]MAC, members)}
	for j := range a.MACs {
		for k := range a.MACs[j] {
			a.MACs[j][k] = byte(17*j + k)
		}
	}
	return a
}

func sampleBundle(t testing.TB, votes int) VoteBundle {
	var b VoteBundle
	for i := range votes {
		rv := RelayedVote{Envelope: sampleVoteEnvelope(t, i%3)}
		for k := range rv.MAC {
			rv.MAC[k] = byte(31*i + k)
		}
		b.Votes = append(b.Votes, rv)
	}
	return b
}

func TestRelayRoundTrip(t *testing.T) {
	lim := LimitsFor(10, 8)
	a := sampleAuthVote(t, 8)
	raw, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !IsRelayFrame(raw) {
		t.Fatal("an AuthVote frame is not recognised as a relay frame")
	}
	if k, err := RelayFrameKind(raw); err != nil || k != KindAuthVote {
		t.Fatalf("kind %v, %v", k, err)
	}
	got, err := DecodeAuthVote(raw, lim)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Envelope, a.Envelope) || len(got.MACs) != len(a.MACs) {
		t.Fatalf("AuthVote changed in a round trip")
	}
	for j := range a.MACs {
		if got.MACs[j] != a.MACs[j] {
			t.Fatalf("MAC %d changed in a round trip", j)
		}
	}

	b := sampleBundle(t, 5)
	raw, err = b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if k, err := RelayFrameKind(raw); err != nil || k != KindVoteBundle {
		t.Fatalf("kind %v, %v", k, err)
	}
	gb, err := DecodeVoteBundle(raw, lim)
	if err != nil {
		t.Fatal(err)
	}
	if len(gb.Votes) != len(b.Votes) {
		t.Fatalf("%d votes, want %d", len(gb.Votes), len(b.Votes))
	}
	for i := range b.Votes {
		if !bytes.Equal(gb.Votes[i].Envelope, b.Votes[i].Envelope) || gb.Votes[i].MAC != b.Votes[i].MAC {
			t.Fatalf("vote %d changed in a round trip", i)
		}
	}
}

// TestEnvelopeIsNoRelayFrame: the dispatch by first byte must never take an envelope for a relay frame.
func TestEnvelopeIsNoRelayFrame(t *testing.T) {
	for _, m := range sampleMessages(t) {
		raw, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if IsRelayFrame(raw) {
			t.Fatalf("%T encodes with the relay marker first", m)
		}
	}
}

func TestRelayRejects(t *testing.T) {
	lim := LimitsFor(10, 8)
	auth, err := func() ([]byte, error) { a := sampleAuthVote(t, 8); return a.Marshal() }()
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := func() ([]byte, error) { b := sampleBundle(t, 3); return b.Marshal() }()
	if err != nil {
		t.Fatal(err)
	}
	nineMACs, err := func() ([]byte, error) { a := sampleAuthVote(t, 9); return a.Marshal() }()
	if err != nil {
		t.Fatal(err)
	}
	with := func(b []byte, i int, v byte) []byte { c := bytes.Clone(b); c[i] = v; return c }
	tooMany := []byte{RelayMarker, byte(KindVoteBundle), RelayVersion, 0xff, 0xff}
	cases := []struct {
		name   string
		data   []byte
		bundle bool
		want   error
	}{
		{"empty", nil, false, ErrMalformed},
		{"marker only", []byte{RelayMarker}, false, ErrMalformed},
		{"auth: version 2", with(auth, 2, 2), false, ErrVersion},
		{"auth: unknown kind", with(auth, 1, 9), false, ErrEnum},
		{"auth: bundle kind", auth, true, ErrMalformed},
		{"auth: truncated", auth[:len(auth)-1], false, ErrMalformed},
		{"auth: trailing byte", append(bytes.Clone(auth), 0), false, ErrTrailing},
		{"auth: more MACs than members", nineMACs, false, ErrTooLarge},
		{"auth: envelope length 0", with(with(auth, 3, 0), 4, 0), false, ErrTooLarge},
		{"auth: envelope too long", with(auth, 3, 0x10), false, ErrTooLarge},
		{"bundle: version 0", with(bundle, 2, 0), true, ErrVersion},
		{"bundle: auth kind", bundle, false, ErrMalformed},
		{"bundle: truncated", bundle[:len(bundle)-3], true, ErrMalformed},
		{"bundle: trailing", append(bytes.Clone(bundle), 1, 2), true, ErrTrailing},
		{"bundle: zero votes", []byte{RelayMarker, byte(KindVoteBundle), RelayVersion, 0, 0}, true, ErrTooLarge},
		{"bundle: count over the cap", tooMany, true, ErrTooLarge},
		{"bundle: count the bytes cannot hold", with(bundle, 4, 30), true, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.bundle {
				_, err = DecodeVoteBundle(c.data, lim)
			} else {
				_, err = DecodeAuthVote(c.data, lim)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestRelayMarshalRefuses(t *testing.T) {
	if _, err := (&AuthVote{Envelope: make([]byte, MaxVoteEnvelope+1), MACs: make([]MAC, 3)}).Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized envelope: %v", err)
	}
	if _, err := (&AuthVote{Envelope: []byte{1}}).Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("no MACs: %v", err)
	}
	if _, err := (&VoteBundle{}).Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("empty bundle: %v", err)
	}
	if _, err := (&VoteBundle{Votes: []RelayedVote{{}}}).Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("empty envelope: %v", err)
	}
}

func sampleHandover(t testing.TB, votes int) VoteHandover {
	var h VoteHandover
	for i := range votes {
		a := sampleAuthVote(t, 3+i)
		h.Votes = append(h.Votes, a)
	}
	return h
}

func TestVoteHandover(t *testing.T) {
	lim := LimitsFor(10, 8)
	h := sampleHandover(t, 3)
	raw, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if k, err := RelayFrameKind(raw); err != nil || k != KindVoteHandover {
		t.Fatalf("kind %v, %v", k, err)
	}
	got, err := DecodeVoteHandover(raw, lim)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Votes) != len(h.Votes) {
		t.Fatalf("%d votes, want %d", len(got.Votes), len(h.Votes))
	}
	for i := range h.Votes {
		if !bytes.Equal(got.Votes[i].Envelope, h.Votes[i].Envelope) || !slices.Equal(got.Votes[i].MACs, h.Votes[i].MACs) {
			t.Fatalf("vote %d changed in a round trip", i)
		}
	}
	nine := VoteHandover{Votes: []AuthVote{sampleAuthVote(t, 9)}}
	nineRaw, err := nine.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	with := func(b []byte, i int, v byte) []byte { c := bytes.Clone(b); c[i] = v; return c }
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"truncated", raw[:len(raw)-1], ErrMalformed},
		{"trailing", append(bytes.Clone(raw), 0), ErrTrailing},
		{"zero votes", []byte{RelayMarker, byte(KindVoteHandover), RelayVersion, 0, 0}, ErrTooLarge},
		{"count over the cap", []byte{RelayMarker, byte(KindVoteHandover), RelayVersion, 0xff, 0xff}, ErrTooLarge},
		{"count the bytes cannot hold", with(raw, 4, 30), ErrMalformed},
		{"more MACs than members", nineRaw, ErrTooLarge},
		{"bundle kind", with(raw, 1, byte(KindVoteBundle)), ErrMalformed},
	} {
		if _, err := DecodeVoteHandover(c.data, lim); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := (&VoteHandover{}).Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("empty handover: %v", err)
	}
}

// fuzzRelayFrame checks a relay frame's decoder on any input: it never panics, and whatever decodes
// respects the caps (caps returns what it breaks) and re-encodes to the same bytes (one encoding per
// frame). Each seed is added with its last byte cut too.
func fuzzRelayFrame[T any](f *testing.F, seeds [][]byte, decode func([]byte, Limits) (T, error),
	caps func(T, Limits) string, marshal func(T) ([]byte, error)) {
	for _, s := range seeds {
		f.Add(s)
		f.Add(s[:len(s)-1])
	}
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decode(data, lim)
		if err != nil {
			return
		}
		if broken := caps(v, lim); broken != "" {
			t.Fatalf("accepted out of caps: %s", broken)
		}
		again, err := marshal(v)
		if err != nil {
			t.Fatalf("decoded frame does not re-encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("non-canonical input accepted:\n in  %x\n out %x", data, again)
		}
	})
}

func mustMarshal(f *testing.F, m interface{ Marshal() ([]byte, error) }) []byte {
	raw, err := m.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	return raw
}

// authCaps is what an authenticated envelope breaks of the caps, with envelopes up to maxEnv bytes.
func authCaps(env []byte, macs []MAC, lim Limits, maxEnv int) string {
	if len(macs) == 0 || len(macs) > int(lim.MaxMembers) || len(env) > maxEnv {
		return fmt.Sprintf("%d MACs, %d-byte envelope", len(macs), len(env))
	}
	return ""
}

func FuzzDecodeAuthVote(f *testing.F) {
	a := sampleAuthVote(f, 4)
	fuzzRelayFrame(f, [][]byte{mustMarshal(f, &a), {RelayMarker, 1, 1, 0, 1, 0, 0, 1, 0}}, DecodeAuthVote,
		func(a AuthVote, lim Limits) string { return authCaps(a.Envelope, a.MACs, lim, MaxVoteEnvelope) },
		func(a AuthVote) ([]byte, error) { return a.Marshal() })
}

func FuzzDecodeVoteBundle(f *testing.F) {
	b := sampleBundle(f, 3)
	fuzzRelayFrame(f, [][]byte{mustMarshal(f, &b), {RelayMarker, 2, 1, 0, 1, 0, 1, 7, 0}}, DecodeVoteBundle,
		func(b VoteBundle, lim Limits) string {
			if len(b.Votes) == 0 || len(b.Votes) > MaxBundleVotes(lim) {
				return fmt.Sprintf("%d votes", len(b.Votes))
			}
			return ""
		},
		func(b VoteBundle) ([]byte, error) { return b.Marshal() })
}

func FuzzDecodeVoteHandover(f *testing.F) {
	h := sampleHandover(f, 2)
	fuzzRelayFrame(f, [][]byte{mustMarshal(f, &h), {RelayMarker, 3, 1, 0, 1, 0, 1, 7, 0, 1, 0}}, DecodeVoteHandover,
		func(h VoteHandover, lim Limits) string {
			if len(h.Votes) == 0 || len(h.Votes) > MaxBundleVotes(lim) {
				return fmt.Sprintf("%d votes", len(h.Votes))
			}
			for _, a := range h.Votes {
				if broken := authCaps(a.Envelope, a.MACs, lim, MaxVoteEnvelope); broken != "" {
					return broken
				}
			}
			return ""
		},
		func(h VoteHandover) ([]byte, error) { return h.Marshal() })
}
