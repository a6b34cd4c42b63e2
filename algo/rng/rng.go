package rng

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// Purpose separates the streams used for different decisions in the same round, so that e.g. drawing
// the sample never shifts the bucketing permutation.
type Purpose uint64

// The purposes used by the method and the protocol. Values are part of the wire contract between peers:
// never renumber them.
const (
	Coin       Purpose = 1  // c_k: full or partial round
	Sampling   Purpose = 2  // S_k: members sampled in a partial round
	Leader     Purpose = 3  // leader of each attempt of a round
	Bucket     Purpose = 4  // bucketing permutation of the aggregator inputs
	Minibatch  Purpose = 5  // a member's minibatch (member = member index)
	Compress   Purpose = 6  // a member's compressor draw (member = member index)
	Attack     Purpose = 7  // randomness of a Byzantine member's attack (member = member index)
	Split      Purpose = 8  // splitting the data among members (round = 0)
	Init       Purpose = 9  // the initial point (round = 0)
	Aggregator Purpose = 10 // randomness inside an aggregator, if any
)

// New returns the stream for (seed, round, purpose, member). Pass member 0 when the stream is shared.
func New(seed, round uint64, purpose Purpose, member uint64) *rand.Rand {
	a, b := key(seed, round, purpose, member)
	return rand.New(rand.NewPCG(a, b))
}

// key is the PCG seed of the stream (seed, round, purpose, member): the first 16 bytes of the SHA-256
// of their little-endian encoding and a version tag.
func key(seed, round uint64, purpose Purpose, member uint64) (uint64, uint64) {
	var buf [40]byte
	binary.LittleEndian.PutUint64(buf[0:], seed)
	binary.LittleEndian.PutUint64(buf[8:], round)
	binary.LittleEndian.PutUint64(buf[16:], uint64(purpose))
	binary.LittleEndian.PutUint64(buf[24:], member)
	copy(buf[32:], "byzpp/v1")
	h := sha256.Sum256(buf[:])
	return binary.LittleEndian.Uint64(h[0:]), binary.LittleEndian.Uint64(h[8:])
}

// Stream is a reusable random stream: Reset gives the stream New would, without allocating. The
// zero value is ready to use; a Stream is not safe for concurrent use, and the *rand.Rand that Reset
// returns is the same one every time (a Reset restarts it).
type Stream struct {
	pcg rand.PCG
	r   *rand.Rand
}

// Reset restarts the stream as New(seed, round, purpose, member) and returns it.
func (s *Stream) Reset(seed, round uint64, purpose Purpose, member uint64) *rand.Rand {
	if s.r == nil {
		s.r = rand.New(&s.pcg)
	}
	s.pcg.Seed(key(seed, round, purpose, member))
	return s.r
}

// IntN returns a uniform integer in [0, n) without modulo bias (Lemire's method). It panics if n <= 0.
func IntN(r *rand.Rand, n int) int {
	if n <= 0 {
		panic("rng: IntN with n <= 0")
	}
	bound := uint64(n)
	hi, lo := bits.Mul64(r.Uint64(), bound)
	if lo < bound {
		threshold := -bound % bound
		for lo < threshold {
			hi, lo = bits.Mul64(r.Uint64(), bound)
		}
	}
	return int(hi)
}

// Float64 returns a uniform number in [0, 1) with 53 random bits.
func Float64(r *rand.Rand) float64 {
	return float64(r.Uint64()>>11) * 0x1p-53
}

// Bernoulli returns true with probability p.
func Bernoulli(r *rand.Rand, p float64) bool {
	return Float64(r) < p
}

// Normal returns a standard normal number (Box–Muller; one of the pair is discarded to keep streams
// stateless).
func Normal(r *rand.Rand) float64 {
	u1 := 1 - Float64(r) // in (0, 1]
	u2 := Float64(r)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Perm returns a uniform permutation of 0..n-1 (Fisher–Yates).
func Perm(r *rand.Rand, n int) []int {
	return PermInto(make([]int, n), r, n)
}

// PermInto is Perm writing into dst (grown if it is shorter than n): the same permutation, no
// allocation when dst is large enough.
func PermInto(dst []int, r *rand.Rand, n int) []int {
	p := slices.Grow(dst[:0], n)[:n]
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := IntN(r, i+1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// SampleInto is Sample for k ≤ 256 (the same draws, the same result) appending to dst[:0], so a caller
// that keeps dst allocates nothing. It panics if k > 256.
//
// Floyd's algorithm keeps the sample sorted as it goes: the draw t is looked for, and inserted, by a
// scan from the top (the j that replaces a draw already taken exceeds every earlier element and goes
// last). Sorting at the end instead cost more than drawing.
func SampleInto(dst []int, r *rand.Rand, n, k int) []int {
	if k > n {
		k = n
	}
	if k > 256 {
		panic("rng: SampleInto with k > 256")
	}
	out := dst[:0]
	if k <= 0 {
		return out
	}
	for j := n - k; j < n; j++ {
		t := IntN(r, j+1)
		i := len(out)
		for i > 0 && out[i-1] > t {
			i--
		}
		if i > 0 && out[i-1] == t {
			out = append(out, j)
			continue
		}
		out = append(out, 0)
		for m := len(out) - 1; m > i; m-- { // a few elements: cheaper than copy's call to memmove
			out[m] = out[m-1]
		}
		out[i] = t
	}
	return out
}

// SampleInto on the stream: s.Reset(seed, round, purpose, member), then the sample SampleInto(dst,
// n, k) draws from it (the same integers), drawing from the PCG without going through rand.Rand.
func (s *Stream) SampleInto(dst []int, seed, round uint64, purpose Purpose, member uint64, n, k int) []int {
	s.pcg.Seed(key(seed, round, purpose, member))
	if k > n {
		k = n
	}
	if k > 256 {
		panic("rng: SampleInto with k > 256")
	}
	out := dst[:0]
	for j := n - k; j < n; j++ {
		// IntN(j+1) on the PCG.
		bound := uint64(j + 1)
		hi, lo := bits.Mul64(s.pcg.Uint64(), bound)
		if lo < bound {
			threshold := -bound % bound
			for lo < threshold {
				hi, lo = bits.Mul64(s.pcg.Uint64(), bound)
			}
		}
		t := int(hi)
		i := len(out)
		for i > 0 && out[i-1] > t {
			i--
		}
		if i > 0 && out[i-1] == t {
			out = append(out, j)
			continue
		}
		out = append(out, 0)
		for m := len(out) - 1; m > i; m-- {
			out[m] = out[m-1]
		}
		out[i] = t
	}
	return out
}

// Sample returns k distinct integers drawn uniformly from 0..n-1, sorted ascending. k is capped at n.
// Small samples (k ≤ 256) use Floyd's algorithm, which costs O(k²) and no memory proportional to n —
// a minibatch of 32 rows from 32,561 must not touch 32,561 ints; larger ones a partial Fisher–Yates.
func Sample(r *rand.Rand, n, k int) []int {
	if k > n {
		k = n
	}
	if k <= 0 {
		return nil
	}
	if k <= 256 {
		return SampleInto(make([]int, 0, k), r, n, k)
	}
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := 0; i < k; i++ {
		j := i + IntN(r, n-i)
		p[i], p[j] = p[j], p[i]
	}
	out := p[:k:k]
	slices.Sort(out)
	return out
}
