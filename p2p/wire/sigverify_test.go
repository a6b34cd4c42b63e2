package wire

import (
	"crypto/ed25519"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
)

func sigFixture(t testing.TB, n int) ([]Envelope, []crypto.PubKey) {
	t.Helper()
	var envs []Envelope
	var keys []crypto.PubKey
	for i := range n {
		priv, pub, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		env, err := SignMessage(priv, uint32(i), &Vote{Type: Precommit, Height: 9, Round: 1, Value: Digest{7}})
		if err != nil {
			t.Fatal(err)
		}
		envs, keys = append(envs, env), append(keys, pub)
	}
	return envs, keys
}

// TestVerifyBatchAgreesWithSingle: on random corruptions of signatures, messages and keys, a batch
// finds exactly the signatures Envelope.Verify refuses, and honest signatures hold.
func TestVerifyBatchAgreesWithSingle(t *testing.T) {
	envs, keys := sigFixture(t, 14)
	rng := mrand.New(mrand.NewPCG(1, 2))
	for trial := range 200 {
		batch := make([]Envelope, len(envs))
		bkeys := make([]crypto.PubKey, len(envs))
		copy(batch, envs)
		copy(bkeys, keys)
		for j := range batch {
			switch rng.IntN(8) {
			case 0:
				batch[j].Sig = append([]byte(nil), batch[j].Sig...)
				batch[j].Sig[rng.IntN(SigSize)] ^= byte(1 << rng.IntN(8))
			case 1:
				batch[j].Body = append(append([]byte(nil), batch[j].Body...), 0)
			case 2:
				bkeys[j] = keys[(j+1)%len(keys)]
			case 3:
				batch[j].Sig = batch[j].Sig[:SigSize-1]
			}
		}
		got := VerifyEnvelopes(batch, bkeys)
		for j := range batch {
			want := batch[j].Verify(bkeys[j]) == nil
			if got[j] != want {
				t.Fatalf("trial %d, envelope %d: batch %v, single %v", trial, j, got[j], want)
			}
		}
	}
	for j, ok := range VerifyEnvelopes(envs, keys) {
		if !ok {
			t.Fatalf("honest signature %d refused", j)
		}
	}
}

// TestVerifyMatchesStandardOnHonestSignatures: what crypto/ed25519 signs, the ZIP-215 rule accepts,
// and a flipped bit is refused by both.
func TestVerifyMatchesStandardOnHonestSignatures(t *testing.T) {
	for i := range 50 {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		msg := []byte{byte(i), 1, 2, 3}
		sig := ed25519.Sign(priv, msg)
		pk, err := crypto.UnmarshalEd25519PublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if !verifySig(pk, msg, sig) {
			t.Fatal("a standard signature is refused")
		}
		sig[i%SigSize] ^= 1
		if verifySig(pk, msg, sig) || ed25519.Verify(pub, msg, sig) {
			t.Fatal("a corrupted signature holds")
		}
	}
	if verifySig(nil, nil, nil) {
		t.Fatal("nil key accepted")
	}
}

// BenchmarkVerifyQuorum checks a quorum of 14 precommit signatures (n = 20) in one batch, and one by
// one as Envelope.Verify does (compare with benchstat).
func BenchmarkVerifyQuorum(b *testing.B) {
	envs, keys := sigFixture(b, 14)
	b.Run("batch", func(b *testing.B) {
		for b.Loop() {
			VerifyEnvelopes(envs, keys)
		}
	})
	b.Run("single", func(b *testing.B) {
		for b.Loop() {
			for j := range envs {
				_ = envs[j].Verify(keys[j])
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			for j := range envs {
				_, _ = keys[j].Verify(SigningBytes(envs[j].Type, envs[j].Signer, envs[j].Body), envs[j].Sig)
			}
		}
	})
}
