package relay

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/byzpp/byzpp/p2p/wire"
)

func seedKey(seed []byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed) }

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLibsodiumConversionVector checks the Ed25519 → X25519 conversions against libsodium's own test
// (test/default/ed25519_convert.c and its .exp: the key pair of this seed).
func TestLibsodiumConversionVector(t *testing.T) {
	k := seedKey(mustHex(t, "421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee"))
	priv, err := x25519Private(k)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(priv.Bytes()), "8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166"; got != want {
		t.Errorf("curve25519 sk %s, libsodium %s", got, want)
	}
	pub, err := x25519Public(k.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	want := "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50"
	if got := hex.EncodeToString(pub.Bytes()); got != want {
		t.Errorf("curve25519 pk %s, libsodium %s", got, want)
	}
	// The converted private key's own public key is the converted public key.
	if got := hex.EncodeToString(priv.PublicKey().Bytes()); got != want {
		t.Errorf("X25519 public key of the converted sk %s, want %s", got, want)
	}
}

// testPairMembers are n key pairs with distinct IDs (node passes libp2p peer IDs; any bytes do here).
func testPairMembers(t *testing.T, n int) ([][]byte, [][]byte, []string) {
	t.Helper()
	var privs, pubs [][]byte
	var ids []string
	for i := range n {
		seed := make([]byte, ed25519.SeedSize)
		seed[0], seed[1] = byte(i), 0x5a
		k := seedKey(seed)
		privs, pubs, ids = append(privs, k), append(pubs, k.Public().(ed25519.PublicKey)), append(ids, fmt.Sprint("member ", i))
	}
	return privs, pubs, ids
}

func TestPairKeysAgree(t *testing.T) {
	const n = 5
	privs, pubs, ids := testPairMembers(t, n)
	run := wire.RunID(sha256.Sum256([]byte("run")))
	keys := make([]*PairKeys, n)
	for i := range n {
		pk, errs := DerivePairKeys(privs[i], pubs, ids, i, run)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		keys[i] = pk
	}
	seen := map[[32]byte][2]int{}
	for i := range n {
		for j := range n {
			if i == j {
				if keys[i].ok[j] {
					t.Errorf("member %d has a key with itself", i)
				}
				continue
			}
			if keys[i].key[j] != keys[j].key[i] {
				t.Errorf("K_%d%d differs between the two sides", i, j)
			}
			if i < j {
				if other, dup := seen[keys[i].key[j]]; dup {
					t.Errorf("pairs %v and %d,%d share a key", other, i, j)
				}
				seen[keys[i].key[j]] = [2]int{i, j}
			}
		}
	}
	// Another run gives other keys.
	other, _ := DerivePairKeys(privs[0], pubs, ids, 0, wire.RunID(sha256.Sum256([]byte("other run"))))
	if other.key[1] == keys[0].key[1] {
		t.Error("the pair key does not depend on the run")
	}
}

func TestVoteMACs(t *testing.T) {
	const n = 4
	privs, pubs, ids := testPairMembers(t, n)
	run := wire.RunID(sha256.Sum256([]byte("run")))
	keys := make([]*PairKeys, n)
	for i := range n {
		keys[i], _ = DerivePairKeys(privs[i], pubs, ids, i, run)
	}
	d := sha256.Sum256([]byte("an envelope"))
	auth := keys[1].Authenticator(d) // member 1 votes
	for j := range n {
		switch {
		case j == 1:
			if auth[j] != (wire.MAC{}) {
				t.Error("the voter's own slot is not zero")
			}
		case !keys[j].Check(1, d, auth[j]):
			t.Errorf("member %d refuses member 1's MAC", j)
		}
	}
	if keys[2].Check(1, d, auth[3]) {
		t.Error("member 2 accepts the MAC meant for member 3")
	}
	if keys[2].Check(0, d, auth[2]) {
		t.Error("member 2 accepts member 1's MAC as member 0's")
	}
	if keys[2].Check(1, sha256.Sum256([]byte("another envelope")), auth[2]) {
		t.Error("a MAC holds for another envelope")
	}
	bad := auth[2]
	bad[0] ^= 1
	if keys[2].Check(1, d, bad) {
		t.Error("a flipped MAC holds")
	}
	if keys[2].Check(2, d, auth[2]) || keys[2].Check(-1, d, auth[2]) || keys[2].Check(n, d, auth[2]) {
		t.Error("a MAC from ourselves or no member holds")
	}
}

func TestBadPublicKeys(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1
	tooBig := make([]byte, 32)
	for i := range tooBig {
		tooBig[i] = 0xff
	}
	tooBig[31] = 0x7f
	cases := map[string][]byte{
		"y = 0 (order 4)":  make([]byte, 32),
		"identity (y = 1)": identity,
		"y ≥ p":            tooBig,
	}
	privs, _, _ := testPairMembers(t, 1)
	own, err := x25519Private(privs[0])
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := pairKey(own, raw, wire.RunID{}, "a", "b"); !errors.Is(err, ErrPairKey) {
				t.Fatalf("got %v, want ErrPairKey", err)
			}
		})
	}
	// A y whose x² is not a square is no point.
	found := false
	for b := byte(2); b < 50 && !found; b++ {
		raw := make([]byte, 32)
		raw[0] = b
		if _, err := x25519Public(raw); errors.Is(err, ErrPairKey) {
			found = true
		}
	}
	if !found {
		t.Error("no small y was refused as off the curve (about half of them are)")
	}
}

// TestPrecomputedMACIsHMAC: the precomputed-state MAC equals crypto/hmac's for random keys and inputs.
func TestPrecomputedMACIsHMAC(t *testing.T) {
	for i := range 200 {
		var key [32]byte
		copy(key[:], mustHash(fmt.Sprint("key", i)))
		mk, err := newMACKey(&key)
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256([]byte(fmt.Sprint("envelope", i)))
		if got, want := mk.sum(i, 3*i+1, d), voteMAC(&key, i, 3*i+1, d); got != want {
			t.Fatalf("case %d: %x, HMAC %x", i, got, want)
		}
	}
}

func mustHash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func BenchmarkVoteMAC(b *testing.B) {
	var key [32]byte
	d := sha256.Sum256([]byte("x"))
	b.Run("hmac", func(b *testing.B) {
		for b.Loop() {
			voteMAC(&key, 1, 2, d)
		}
	})
	mk, err := newMACKey(&key)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("precomputed", func(b *testing.B) {
		for b.Loop() {
			mk.sum(1, 2, d)
		}
	})
}

// TestKeyTypes: a key of another type (passed as nil) or of the wrong length makes no pair key.
func TestKeyTypes(t *testing.T) {
	privs, pubs, ids := testPairMembers(t, 3)
	pubs[2] = nil
	pk, errs := DerivePairKeys(privs[0], pubs, ids, 0, wire.RunID{})
	if len(errs) != 1 || !errors.Is(errs[0], ErrPairKey) || !errors.Is(errs[0], wire.ErrKeyType) || !pk.OK(1) || pk.OK(2) || !pk.Any() {
		t.Fatalf("errors %v, keys %v", errs, pk.ok)
	}
	if pk, errs := DerivePairKeys(nil, pubs, ids, 0, wire.RunID{}); len(errs) != 1 || pk.Any() {
		t.Fatalf("no private key: errors %v, keys %v", errs, pk.ok)
	}
	if _, err := x25519Public(pubs[1][:31]); !errors.Is(err, ErrPairKey) {
		t.Fatalf("a 31-byte public key: %v", err)
	}
}
