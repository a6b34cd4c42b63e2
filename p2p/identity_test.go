package p2p_test

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/byzpp/byzpp/p2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keys")
	path := filepath.Join(dir, "identity.key")
	k1, err := p2p.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Type() != crypto.Ed25519 {
		t.Fatalf("key type %v", k1.Type())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode %o", di.Mode().Perm())
	}
	k2, err := p2p.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equals(k2) {
		t.Fatal("second start loaded a different key")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	keys := make([]crypto.PrivKey, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := p2p.LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k == nil || !k.Equals(keys[0]) {
			t.Fatal("concurrent first starts disagree on the key")
		}
	}
}

func TestLoadOrCreateKeyRejects(t *testing.T) {
	secp, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secpRaw, _ := crypto.MarshalPrivateKey(secp)
	ed, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	edRaw, _ := crypto.MarshalPrivateKey(ed)
	cases := []struct {
		name    string
		content []byte
		mode    os.FileMode
		want    error
	}{
		{"group readable", edRaw, 0o640, p2p.ErrKeyPermissions},
		{"world readable", edRaw, 0o604, p2p.ErrKeyPermissions},
		{"group writable", edRaw, 0o620, p2p.ErrKeyPermissions},
		{"empty", nil, 0o600, p2p.ErrKeyCorrupt},
		{"garbage", []byte("not a key at all"), 0o600, p2p.ErrKeyCorrupt},
		{"truncated", edRaw[:len(edRaw)-5], 0o600, p2p.ErrKeyCorrupt},
		{"secp256k1", secpRaw, 0o600, p2p.ErrKeyCorrupt},
		{"huge", make([]byte, 10000), 0o600, p2p.ErrKeyCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key")
			if err := os.WriteFile(path, c.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, c.mode); err != nil {
				t.Fatal(err)
			}
			_, err := p2p.LoadOrCreateKey(path)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if c.want == p2p.ErrKeyPermissions && !strings.Contains(err.Error(), "chmod 600 "+path) {
				t.Fatalf("error does not say how to fix it: %v", err)
			}
		})
	}
	if _, err := p2p.LoadOrCreateKey(t.TempDir()); !errors.Is(err, p2p.ErrKeyCorrupt) {
		t.Fatalf("directory as key file: %v", err)
	}
	if _, err := p2p.LoadOrCreateKey(""); err == nil {
		t.Fatal("empty path accepted")
	}
}

func TestPubKeyFromID(t *testing.T) {
	ed, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	id, _ := peer.IDFromPrivateKey(ed)
	pub, err := p2p.PubKeyFromID(id)
	if err != nil || !pub.Equals(ed.GetPublic()) {
		t.Fatalf("ed25519: %v", err)
	}
	ec, _, _ := crypto.GenerateECDSAKeyPair(rand.Reader)
	ecID, _ := peer.IDFromPrivateKey(ec)
	if _, err := p2p.PubKeyFromID(ecID); !errors.Is(err, p2p.ErrNotEd25519) {
		t.Fatalf("ecdsa: %v", err)
	}
	if _, err := p2p.PubKeyFromID(peer.ID("garbage")); !errors.Is(err, p2p.ErrNotEd25519) {
		t.Fatalf("garbage: %v", err)
	}
}
