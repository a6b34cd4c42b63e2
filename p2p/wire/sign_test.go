package wire

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
)

func TestSignVerify(t *testing.T) {
	key := testKey(t, 1)
	pub := key.GetPublic()
	m := &Vote{Run: testRun, Type: Prevote, Height: 3, Round: 1, Value: digestOf(1)}
	env, err := SignMessage(key, 5, m)
	if err != nil {
		t.Fatal(err)
	}
	if env.Version != Version || env.Type != TypeVote || env.Signer != 5 {
		t.Fatalf("envelope header %+v", env)
	}
	if err := env.Verify(pub); err != nil {
		t.Fatal(err)
	}
	got, err := env.Open(DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if *got.(*Vote) != *m {
		t.Fatal("Open returned a different vote")
	}

	tamper := map[string]func(e *Envelope){
		"body":   func(e *Envelope) { e.Body = append([]byte(nil), e.Body...); e.Body[len(e.Body)-1] ^= 1 },
		"type":   func(e *Envelope) { e.Type = TypeProposal },
		"signer": func(e *Envelope) { e.Signer = 6 },
		"sig":    func(e *Envelope) { e.Sig = append([]byte(nil), e.Sig...); e.Sig[0] ^= 1 },
		"short":  func(e *Envelope) { e.Sig = e.Sig[:10] },
	}
	for name, f := range tamper {
		e := env
		f(&e)
		if err := e.Verify(pub); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: got %v, want ErrSignature", name, err)
		}
	}
	if err := env.Verify(testKey(t, 2).GetPublic()); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong key: got %v", err)
	}

	secp, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(secp, TypeVote, 0, env.Body); !errors.Is(err, ErrKeyType) {
		t.Errorf("secp256k1 signing: got %v", err)
	}
	if err := env.Verify(secp.GetPublic()); !errors.Is(err, ErrKeyType) {
		t.Errorf("secp256k1 verify: got %v", err)
	}
	if err := env.Verify(nil); !errors.Is(err, ErrKeyType) {
		t.Errorf("nil key: got %v", err)
	}
	if _, err := Sign(key, 0, 0, nil); !errors.Is(err, ErrEnum) {
		t.Errorf("type 0: got %v", err)
	}
	if _, err := SignMessage(key, 0, &StateRequest{}); !errors.Is(err, ErrEnum) {
		t.Errorf("non-body message: got %v", err)
	}
}

func TestDecodeBodyRejectsTypeMismatch(t *testing.T) {
	env, err := SignMessage(testKey(t, 0), 0, &Vote{Run: testRun, Type: Precommit, Value: digestOf(1)})
	if err != nil {
		t.Fatal(err)
	}
	env.Type = TypeRound
	if _, err := env.Open(DefaultLimits()); err == nil {
		t.Fatal("vote body decoded as a round message")
	}
	if _, err := DecodeBody(9, env.Body, DefaultLimits()); !errors.Is(err, ErrEnum) {
		t.Fatalf("unknown type: got %v", err)
	}
}

func TestQuorum(t *testing.T) {
	for n := 1; n <= 100; n++ {
		want := 0
		for 3*want <= 2*n {
			want++
		}
		if Quorum(n) != want {
			t.Fatalf("Quorum(%d) = %d, want %d", n, Quorum(n), want)
		}
	}
}

func TestCertificate(t *testing.T) {
	const n = 20
	cert, pub := sampleCertificate(t, n, Quorum(n))
	if err := cert.Verify(pub); err != nil {
		t.Fatal(err)
	}
	for j := 1; j < len(cert.Signers); j++ {
		if cert.Signers[j] <= cert.Signers[j-1] {
			t.Fatal("signers not sorted")
		}
	}

	below, _ := sampleCertificate(t, n, Quorum(n)-1)
	if err := below.Verify(pub); !errors.Is(err, ErrQuorum) {
		t.Errorf("below quorum: got %v", err)
	}
	bad := cert
	bad.Sigs = append([][]byte(nil), cert.Sigs...)
	bad.Sigs[3] = append([]byte(nil), cert.Sigs[3]...)
	bad.Sigs[3][7] ^= 1
	if err := bad.Verify(pub); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered signature: got %v", err)
	}
	other := cert
	other.Round++
	if err := other.Verify(pub); !errors.Is(err, ErrSignature) {
		t.Errorf("other round: got %v", err)
	}
	if err := cert.Verify(pub[:10]); !errors.Is(err, ErrIndex) {
		t.Errorf("signer outside membership: got %v", err)
	}
	if err := cert.Verify(nil); !errors.Is(err, ErrQuorum) {
		t.Errorf("no members: got %v", err)
	}
	// A signature from a key at the wrong index fails.
	swapped := append([]crypto.PubKey(nil), pub...)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	if err := cert.Verify(swapped); !errors.Is(err, ErrSignature) {
		t.Errorf("swapped keys: got %v", err)
	}
}

func TestAssembleCertificate(t *testing.T) {
	priv, _ := testKeys(t, 4)
	vote := Vote{Run: testRun, Type: Precommit, Height: 2, Value: digestOf(1)}
	sign := func(i int, v Vote) Envelope {
		e, err := SignMessage(priv[i], uint32(i), &v)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	dup, err := AssembleCertificate([]Envelope{sign(2, vote), sign(0, vote), sign(2, vote)}, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(dup.Signers) != 2 || dup.Signers[0] != 0 || dup.Signers[1] != 2 {
		t.Fatalf("duplicates not merged: %v", dup.Signers)
	}
	other := vote
	other.Value = digestOf(2)
	prevote := vote
	prevote.Type = Prevote
	proposal, err := SignMessage(priv[0], 0, &Proposal{Run: testRun, POLRound: -1})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]Envelope{
		"empty":       nil,
		"mixed value": {sign(0, vote), sign(1, other)},
		"prevote":     {sign(0, prevote)},
		"not a vote":  {proposal},
		"nil value":   {sign(0, Vote{Run: testRun, Type: Precommit})},
	}
	for name, envs := range cases {
		if _, err := AssembleCertificate(envs, DefaultLimits()); err == nil {
			t.Errorf("%s: assembled", name)
		}
	}
}
