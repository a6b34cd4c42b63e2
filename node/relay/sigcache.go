package relay

import (
	"crypto/sha256"
	"sync"
)

// SigCache remembers envelopes (by SHA-256 of their bytes) already accepted, so that a copy arriving
// again — a rebroadcast, a relay of a vote its signer already sent us — costs a hash instead of an
// Ed25519 verification. Ed25519 signatures are deterministic and envelopes have one encoding, so an
// honest member's repeated message is byte-identical; a different byte string is checked afresh.
//
// An entry is either verified (the signature was checked) or authenticated only: the envelope came
// directly from its signer over the secure channel, or was relayed with the signer's pairwise MAC, its
// signature unchecked (lazy verification, see node/direct.go, node/relay.go, node/lazyround.go). A copy of an
// authenticated-only vote from anyone is the very bytes the signer sent us, so it is exactly as
// trustworthy, and still unchecked: the loop checks it before it goes into a certificate or out in a
// relay. (Round messages accept only verified entries from anyone but their author.)
//
// It is read by validator and stream goroutines and pruned by the event loop, hence the mutex.
type SigCache struct {
	mu      sync.Mutex
	entries map[[32]byte]sigEntry
}

type sigEntry struct {
	height   uint64 // round/height the message belongs to, for pruning
	verified bool
}

// maxSigCache bounds the cache: a flood of distinct messages evicts nothing useful, it just stops
// being remembered (and is verified every time, as without a cache).
const maxSigCache = 1 << 16

// EnvelopeDigest is the SHA-256 of a signed envelope: the key of the cache, and what MACs bind.
func EnvelopeDigest(raw []byte) [32]byte { return sha256.Sum256(raw) }

// Lookup reports whether raw was accepted before and whether its signature was checked.
func (c *SigCache) Lookup(d [32]byte) (known, verified bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[d]
	return ok, e.verified
}

// Add remembers an accepted envelope; a verified entry is never downgraded.
func (c *SigCache) Add(d [32]byte, height uint64, verified bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[[32]byte]sigEntry{}
	}
	e, ok := c.entries[d]
	if !ok && len(c.entries) >= maxSigCache {
		return
	}
	if ok {
		height = max(height, e.height) // keep it as long as its latest use needs
	}
	c.entries[d] = sigEntry{height: height, verified: verified || e.verified}
}

// Prune forgets envelopes of heights below h.
func (c *SigCache) Prune(h uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d, e := range c.entries {
		if e.height < h {
			delete(c.entries, d)
		}
	}
}
