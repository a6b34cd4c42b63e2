package wire

import (
	"bytes"
	"math"
	"testing"
)

// TestSignedBytes: SignedBytes gives exactly Marshal(SignMessage(...)) for every envelope body type,
// signer indices of every integer width the limits allow, and bodies with bin8, bin16 and bin32
// headers.
func TestSignedBytes(t *testing.T) {
	key := testKey(t, 0)
	bodies := map[string]Message{
		"round d=3": benchRoundMsg(3), "round d=100": benchRoundMsg(100), "round d=100000": benchRoundMsg(100_000),
	}
	for name, m := range sampleMessages(t) {
		if _, ok := TypeOf(m); ok {
			bodies[name] = m
		}
	}
	for name, m := range bodies {
		for _, signer := range []uint32{0, 7, 127, 128, 255, 256, DefaultMaxMembers - 1} {
			env, err := SignMessage(key, signer, m)
			if err != nil {
				t.Fatalf("%s, signer %d: %v", name, signer, err)
			}
			want, err := Marshal(&env)
			if err != nil {
				t.Fatalf("%s, signer %d: %v", name, signer, err)
			}
			got, err := SignedBytes(key, signer, m)
			if err != nil {
				t.Fatalf("%s, signer %d: %v", name, signer, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s, signer %d: SignedBytes differs from Marshal(SignMessage) (%d against %d bytes)", name, signer, len(got), len(want))
			}
		}
	}
}

// TestSignedBytesRefuses: what SignMessage refuses, SignedBytes refuses.
func TestSignedBytesRefuses(t *testing.T) {
	key := testKey(t, 0)
	if _, err := SignedBytes(key, 1, &Certificate{}); err == nil {
		t.Error("a certificate is no envelope body")
	}
	if _, err := SignedBytes(nil, 1, benchRoundMsg(3)); err == nil {
		t.Error("no key")
	}
	if _, err := SignedBytes(key, DefaultMaxMembers, benchRoundMsg(3)); err == nil {
		t.Error("a signer beyond the limits")
	}
	bad := benchRoundMsg(3)
	bad.Vec.Values[1] = math.Inf(1)
	if _, err := SignedBytes(key, 1, bad); err == nil {
		t.Error("an infinite value was signed")
	}
}

// TestEnvelopeBodyShared: Unmarshal's envelope body is the input's bytes (no copy), capped so that
// appending to it cannot overwrite the signature that follows.
func TestEnvelopeBodyShared(t *testing.T) {
	raw, err := SignedBytes(testKey(t, 0), 7, benchRoundMsg(1000))
	if err != nil {
		t.Fatal(err)
	}
	var env Envelope
	if err := Unmarshal(raw, &env, DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(raw, env.Body)
	if i < 0 || &raw[i] != &env.Body[0] {
		t.Fatal("the body is a copy")
	}
	if cap(env.Body) != len(env.Body) {
		t.Fatalf("body capacity %d beyond its length %d", cap(env.Body), len(env.Body))
	}
	again, err := Marshal(&env)
	if err != nil || !bytes.Equal(again, raw) {
		t.Fatal("the decoded envelope does not re-encode to its bytes")
	}
}
