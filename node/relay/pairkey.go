package relay

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/byzpp/byzpp/p2p/wire"
)

// Pairwise keys. Every two members i and j share a symmetric key K_ij without a handshake: static
// X25519 Diffie–Hellman between their Ed25519 identity keys converted to Curve25519 (the conversion of
// libsodium's crypto_sign_ed25519_sk_to_curve25519 / pk_to_curve25519), then HKDF-SHA256 with the run
// id as salt and both peer IDs, in byte order, as context. Both sides compute the same key; nobody
// else can. The keys make the MACs of relayed votes (node/relay.go): a MAC under K_ij proves to j that i
// made it, at the cost of a hash instead of an Ed25519 verification.
//
// Reusing a signing key for Diffie–Hellman is what libsodium's conversion exists for; the two uses
// cannot be confused (a signature is never a DH output nor the reverse), and the derived key is bound
// to the run and the pair by HKDF.

// ErrPairKey: a pair's key could not be derived (a public key that is no curve point or of low order).
var ErrPairKey = errors.New("node: pairwise key")

// pairKeyInfo is HKDF's context prefix; the two peer IDs follow.
const pairKeyInfo = "byzpp/relay-mac/v1"

// PairKeys holds this member's key with every other member.
type PairKeys struct {
	self int
	key  [][32]byte // key[j] = K_{self,j}; zero for self and for a pair that failed
	ok   []bool     // whether key[j] was derived
	// mac[j] is HMAC-SHA256 under key[j] with the key's pad blocks already hashed: a MAC then costs
	// two SHA-256 blocks instead of four and no key set-up (voteMAC is the reference).
	mac []macKey
}

// macKey holds the SHA-256 states after the inner and outer pad blocks of one HMAC key.
type macKey struct {
	inner, outer []byte // encoding.BinaryMarshaler states of crypto/sha256
}

func newMACKey(key *[32]byte) (macKey, error) {
	var ipad, opad [sha256.BlockSize]byte
	for i := range ipad {
		ipad[i], opad[i] = 0x36, 0x5c
	}
	for i, b := range key {
		ipad[i] ^= b
		opad[i] ^= b
	}
	state := func(pad []byte) ([]byte, error) {
		h := sha256.New()
		h.Write(pad)
		return h.(encoding.BinaryMarshaler).MarshalBinary()
	}
	inner, err := state(ipad[:])
	if err != nil {
		return macKey{}, err
	}
	outer, err := state(opad[:])
	return macKey{inner: inner, outer: outer}, err
}

// sum is HMAC-SHA256(key, voter ‖ receiver ‖ envDigest) truncated, from the precomputed states.
func (k *macKey) sum(voter, receiver int, envDigest [32]byte) wire.MAC {
	var msg [8 + 32]byte
	binary.BigEndian.PutUint32(msg[:4], uint32(voter))
	binary.BigEndian.PutUint32(msg[4:8], uint32(receiver))
	copy(msg[8:], envDigest[:])
	var out wire.MAC
	h := sha256.New()
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.inner) != nil {
		return out // cannot happen: the state was marshalled by the same package
	}
	h.Write(msg[:])
	var in [sha256.Size]byte
	h.Sum(in[:0])
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.outer) != nil {
		return out
	}
	h.Write(in[:])
	var sum [sha256.Size]byte
	copy(out[:], h.Sum(sum[:0]))
	return out
}

// DerivePairKeys computes this member's key with every other member (once, at start-up: a
// scalar multiplication each) from the raw Ed25519 keys — priv is seed ‖ public key (64 bytes, as
// crypto/ed25519 and libp2p's Raw give it), pubs[j] member j's 32-byte public key, nil for a key of
// another type — and the members' peer IDs (their bytes). A pair that fails is logged by the caller
// and left unusable; every other pair still works.
func DerivePairKeys(priv []byte, pubs [][]byte, peers []string, self int, run wire.RunID) (*PairKeys, []error) {
	pk := &PairKeys{self: self, key: make([][32]byte, len(pubs)), ok: make([]bool, len(pubs)), mac: make([]macKey, len(pubs))}
	own, err := x25519Private(priv)
	if err != nil {
		return pk, []error{err}
	}
	var errs []error
	for j, pub := range pubs {
		if j == self {
			continue
		}
		k, err := pairKey(own, pub, run, peers[self], peers[j])
		if err != nil {
			errs = append(errs, fmt.Errorf("member %d: %w", j, err))
			continue
		}
		mk, err := newMACKey(&k)
		if err != nil {
			errs = append(errs, fmt.Errorf("member %d: %w: %w", j, ErrPairKey, err))
			continue
		}
		pk.key[j], pk.ok[j], pk.mac[j] = k, true, mk
	}
	return pk, errs
}

// pairKey derives K_ij from our X25519 private key and j's Ed25519 public key.
func pairKey(own *ecdh.PrivateKey, pub []byte, run wire.RunID, a, b string) ([32]byte, error) {
	var out [32]byte
	theirs, err := x25519Public(pub)
	if err != nil {
		return out, err
	}
	// crypto/ecdh refuses an all-zero shared secret: that is what a low-order public key yields.
	secret, err := own.ECDH(theirs)
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrPairKey, err)
	}
	lo, hi := []byte(a), []byte(b)
	if bytes.Compare(lo, hi) > 0 {
		lo, hi = hi, lo
	}
	info := make([]byte, 0, len(pairKeyInfo)+4+len(lo)+len(hi))
	info = append(info, pairKeyInfo...)
	// Length-prefix the first ID so that no two pairs share a context.
	info = binary.BigEndian.AppendUint32(info, uint32(len(lo)))
	info = append(info, lo...)
	info = append(info, hi...)
	k, err := hkdf.Key(sha256.New, secret, run[:], string(info), len(out))
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrPairKey, err)
	}
	copy(out[:], k)
	return out, nil
}

// x25519Private is crypto_sign_ed25519_sk_to_curve25519: the first half of SHA-512(seed), which is the
// Ed25519 secret scalar (crypto/ecdh clamps it).
func x25519Private(priv []byte) (*ecdh.PrivateKey, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: %w", ErrPairKey, wire.ErrKeyType)
	}
	if len(priv) < 32 { // seed ‖ public key
		return nil, fmt.Errorf("%w: private key of %d bytes", ErrPairKey, len(priv))
	}
	h := sha512.Sum512(priv[:32])
	s := h[:32]
	s[0] &= 248
	s[31] &= 127
	s[31] |= 64
	return ecdh.X25519().NewPrivateKey(s)
}

// Field arithmetic of Curve25519 for the Edwards → Montgomery map, with math/big: it runs once per
// member at start-up, never on a hot path.
var (
	fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// edwardsD is d = −121665/121666 of edwards25519.
	edwardsD = func() *big.Int {
		inv := new(big.Int).ModInverse(big.NewInt(121666), fieldP)
		d := new(big.Int).Mul(big.NewInt(-121665), inv)
		return d.Mod(d, fieldP)
	}()
)

// x25519Public is crypto_sign_ed25519_pk_to_curve25519: u = (1+y)/(1−y) of the Edwards point. It
// refuses an encoding that is not a point of the curve (y ≥ p, or no x with x² = (y²−1)/(d·y²+1)) and
// y = 1 (the neutral element, whose u is infinite); other low-order points are caught by ECDH.
func x25519Public(pub []byte) (*ecdh.PublicKey, error) {
	if pub == nil {
		return nil, fmt.Errorf("%w: %w", ErrPairKey, wire.ErrKeyType)
	}
	if len(pub) != 32 {
		return nil, fmt.Errorf("%w: public key of %d bytes", ErrPairKey, len(pub))
	}
	le := [32]byte(pub)
	le[31] &= 0x7f // the sign of x does not matter to u
	y := new(big.Int).SetBytes(reversed(le[:]))
	one := big.NewInt(1)
	if y.Cmp(fieldP) >= 0 || y.Cmp(one) == 0 {
		return nil, fmt.Errorf("%w: public key is not a usable point", ErrPairKey)
	}
	y2 := new(big.Int).Mul(y, y)
	num := new(big.Int).Sub(y2, one)
	num.Mod(num, fieldP)
	den := new(big.Int).Mul(edwardsD, y2)
	den.Add(den, one).Mod(den, fieldP)
	x2 := new(big.Int).Mul(num, new(big.Int).ModInverse(den, fieldP))
	x2.Mod(x2, fieldP)
	if x2.Sign() != 0 && big.Jacobi(x2, fieldP) != 1 {
		return nil, fmt.Errorf("%w: public key is not on the curve", ErrPairKey)
	}
	oneMinus := new(big.Int).Sub(one, y)
	oneMinus.Mod(oneMinus, fieldP)
	u := new(big.Int).Add(one, y)
	u.Mul(u, new(big.Int).ModInverse(oneMinus, fieldP)).Mod(u, fieldP)
	var be [32]byte
	u.FillBytes(be[:])
	return ecdh.X25519().NewPublicKey(reversed(be[:]))
}

func reversed(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[len(b)-1-i] = c
	}
	return out
}

// voteMAC is MAC_j of a vote (the plain definition; PairKeys uses the equal, faster macKey.sum): HMAC-SHA256(K_{voter,j}, voter ‖ j ‖ SHA-256(envelope)) truncated to
// wire.MACSize bytes. Binding both indices means a MAC for one receiver is useless to another, and
// the envelope digest binds the exact signed bytes.
func voteMAC(key *[32]byte, voter, receiver int, envDigest [32]byte) wire.MAC {
	m := hmac.New(sha256.New, key[:])
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(voter))
	binary.BigEndian.PutUint32(hdr[4:], uint32(receiver))
	m.Write(hdr[:])
	m.Write(envDigest[:])
	var sum [sha256.Size]byte
	var out wire.MAC
	copy(out[:], m.Sum(sum[:0]))
	return out
}

// Authenticator makes the MACs of our vote (or round message) for every member (zero for ourselves
// and for pairs without a key: those receivers will drop the relayed copy and rely on the fallbacks).
func (pk *PairKeys) Authenticator(envDigest [32]byte) []wire.MAC {
	macs := make([]wire.MAC, len(pk.key))
	for j := range pk.key {
		if j != pk.self && pk.ok[j] {
			macs[j] = pk.mac[j].sum(pk.self, j, envDigest)
		}
	}
	return macs
}

// Check reports whether mac is voter's MAC for us of the envelope with digest envDigest.
func (pk *PairKeys) Check(voter int, envDigest [32]byte, mac wire.MAC) bool {
	if voter < 0 || voter >= len(pk.key) || voter == pk.self || !pk.ok[voter] {
		return false
	}
	want := pk.mac[voter].sum(voter, pk.self, envDigest)
	return hmac.Equal(want[:], mac[:])
}

// OK reports whether this member has a key with member j.
func (pk *PairKeys) OK(j int) bool { return j >= 0 && j < len(pk.ok) && pk.ok[j] }

// Any reports whether this member has a key with any member.
func (pk *PairKeys) Any() bool { return slices.Contains(pk.ok, true) }
