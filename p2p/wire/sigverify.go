package wire

import (
	"crypto/rand"
	"sync"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Signature verification. Every Ed25519 signature byzpp checks goes through here, under one rule:
// ZIP-215 (cofactored verification, the rule under which checking signatures one at a time and in a
// batch accept exactly the same set). Peers must agree on which signatures hold — a certificate one
// accepts and another refuses would strand a laggard — and Go's standard rule (cofactorless) differs
// from any batch rule on crafted signatures, so byzpp does not use it. Honest signers' signatures
// hold under every rule. Batches matter: a decision needs a quorum of correctly signed precommits
// checked before it is applied, and curve25519-voi checks 14 in a batch about three times faster than
// one by one with crypto/ed25519 (BenchmarkVerifyQuorum). Expanded public keys (precomputed tables)
// are kept per key, since the same few members sign everything.

var zip215 = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// expandedKeys caches expanded public keys by raw key; bounded, as only members' keys are checked.
var expandedKeys struct {
	mu sync.RWMutex
	m  map[[voi.PublicKeySize]byte]*voi.ExpandedPublicKey
}

const maxExpandedKeys = 1 << 14

// expanded returns the expanded form of an Ed25519 public key, or nil if pub is not one.
func expanded(pub crypto.PubKey) *voi.ExpandedPublicKey {
	if pub == nil || pub.Type() != cryptopb.KeyType_Ed25519 {
		return nil
	}
	raw, err := pub.Raw()
	if err != nil || len(raw) != voi.PublicKeySize {
		return nil
	}
	var k [voi.PublicKeySize]byte
	copy(k[:], raw)
	expandedKeys.mu.RLock()
	e := expandedKeys.m[k]
	expandedKeys.mu.RUnlock()
	if e != nil {
		return e
	}
	e, err = voi.NewExpandedPublicKey(voi.PublicKey(raw))
	if err != nil {
		return nil
	}
	expandedKeys.mu.Lock()
	if expandedKeys.m == nil || len(expandedKeys.m) >= maxExpandedKeys {
		expandedKeys.m = make(map[[voi.PublicKeySize]byte]*voi.ExpandedPublicKey)
	}
	expandedKeys.m[k] = e
	expandedKeys.mu.Unlock()
	return e
}

// verifySig reports whether sig is pub's signature of msg under ZIP-215.
func verifySig(pub crypto.PubKey, msg, sig []byte) bool {
	e := expanded(pub)
	return e != nil && len(sig) == SigSize && voi.VerifyExpandedWithOptions(e, msg, sig, zip215)
}

// SigCheck is one signature to check in a batch.
type SigCheck struct {
	Pub      crypto.PubKey
	Msg, Sig []byte
}

// VerifyBatch checks every signature of checks, under the same rule as Envelope.Verify, and reports
// which hold. A batch in which all hold costs about a third of checking them one by one; one that
// fails is checked one by one to find the bad ones.
func VerifyBatch(checks []SigCheck) []bool {
	ok := make([]bool, len(checks))
	if len(checks) == 0 {
		return ok
	}
	if len(checks) == 1 {
		ok[0] = verifySig(checks[0].Pub, checks[0].Msg, checks[0].Sig)
		return ok
	}
	v := voi.NewBatchVerifierWithCapacity(len(checks))
	idx := make([]int, 0, len(checks))
	for i, c := range checks {
		e := expanded(c.Pub)
		if e == nil || len(c.Sig) != SigSize {
			continue // not Ed25519 or malformed: false
		}
		v.AddExpandedWithOptions(e, c.Msg, c.Sig, zip215)
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return ok
	}
	_, valid := v.Verify(rand.Reader)
	for j, i := range idx {
		ok[i] = valid[j]
	}
	return ok
}

// VerifyEnvelopes checks the envelopes' signatures with their signers' keys (keys[j] for envs[j]) in
// one batch and reports which hold.
func VerifyEnvelopes(envs []Envelope, keys []crypto.PubKey) []bool {
	checks := make([]SigCheck, len(envs))
	for j := range envs {
		checks[j] = SigCheck{Pub: keys[j], Msg: SigningBytes(envs[j].Type, envs[j].Signer, envs[j].Body), Sig: envs[j].Sig}
	}
	return VerifyBatch(checks)
}
