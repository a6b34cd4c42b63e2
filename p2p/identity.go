package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

var (
	// ErrKeyPermissions: the key file can be read or written by group or others.
	ErrKeyPermissions = errors.New("p2p: key file is accessible by other users")
	// ErrKeyCorrupt: the key file does not hold a libp2p-encoded Ed25519 private key.
	ErrKeyCorrupt = errors.New("p2p: key file is corrupt")
	// ErrNotEd25519: a key or peer ID is not Ed25519; byzpp identities must be, because envelope
	// signatures are checked against the key embedded in the peer ID.
	ErrNotEd25519 = errors.New("p2p: not an Ed25519 identity")
)

// maxKeyFile bounds what LoadOrCreateKey reads; an encoded Ed25519 key is 68 bytes.
const maxKeyFile = 4096

// LoadOrCreateKey returns the Ed25519 identity key stored at path, creating it on first start: the
// directory with mode 0700 (if missing), the file with mode 0600. It refuses a file readable or writable
// by group or others (ErrKeyPermissions, with the chmod to run) and reports a file that is not an
// Ed25519 key as ErrKeyCorrupt.
func LoadOrCreateKey(path string) (crypto.PrivKey, error) {
	if path == "" {
		return nil, errors.New("p2p: empty key path")
	}
	key, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("p2p: creating key directory: %w", err)
	}
	key, _, err = crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("p2p: generating key: %w", err)
	}
	raw, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("p2p: encoding key: %w", err)
	}
	// Write a private temporary file, then hard-link it into place: the link fails if another process
	// created the key meanwhile, and nobody ever sees a half-written key.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return nil, fmt.Errorf("p2p: creating key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("p2p: creating key file: %w", err)
	}
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("p2p: writing key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("p2p: writing key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("p2p: writing key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadKey(path)
		}
		return nil, fmt.Errorf("p2p: installing key file: %w", err)
	}
	return key, nil
}

func loadKey(path string) (crypto.PrivKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("p2p: key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrKeyCorrupt, path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; run: chmod 600 %s", ErrKeyPermissions, path, perm, path)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("p2p: reading key file: %w", err)
	}
	if len(raw) == 0 || len(raw) > maxKeyFile {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrKeyCorrupt, path, len(raw))
	}
	key, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKeyCorrupt, path, err)
	}
	if key.Type() != cryptopb.KeyType_Ed25519 {
		return nil, fmt.Errorf("%w: %s holds a %v key", ErrKeyCorrupt, path, key.Type())
	}
	return key, nil
}

// PubKeyFromID extracts the Ed25519 public key embedded in an Ed25519 peer ID. Gossip validators use
// it to check envelope signatures without any key exchange.
func PubKeyFromID(id peer.ID) (crypto.PubKey, error) {
	pub, err := id.ExtractPublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotEd25519, id, err)
	}
	if pub.Type() != cryptopb.KeyType_Ed25519 {
		return nil, fmt.Errorf("%w: %s has a %v key", ErrNotEd25519, id, pub.Type())
	}
	return pub, nil
}

// RawEd25519 is an Ed25519 key's raw bytes (seed ‖ public key for a private key, the 32-byte point
// for a public one), nil for a key of another type or one that does not encode: what packages that
// must not import libp2p (node/relay's pairwise keys) take keys as.
func RawEd25519(k crypto.Key) []byte {
	if k == nil || k.Type() != cryptopb.KeyType_Ed25519 {
		return nil
	}
	raw, err := k.Raw()
	if err != nil {
		return nil
	}
	return raw
}
