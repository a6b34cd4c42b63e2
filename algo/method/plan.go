package method

import (
	"slices"

	"github.com/byzpp/byzpp/algo/rng"
)

// Plan is what is random about one round, derived from the shared seed: nobody can bias it and every
// participant recomputes the same plan.
type Plan struct {
	Round  uint64
	Full   bool  // c_k = 1: every member sends its full gradient
	Sample []int // S_k, sorted member indices (all members on a full round)
}

// PlanRound derives round k's plan from the seed.
func (c *Config) PlanRound(seed, k uint64) Plan {
	return c.PlanRoundInto(seed, k, nil, nil)
}

// PlanRoundInto is PlanRound with the sample written into buf (reused when large enough) and the
// random streams drawn from s (nil: fresh ones): the same plan, no allocation once buf has grown.
func (c *Config) PlanRoundInto(seed, k uint64, buf []int, s *rng.Stream) Plan {
	if s == nil {
		s = new(rng.Stream)
	}
	full := k == 0
	if !full && c.Variant == VariantMarinaPP {
		if c.Schedule > 0 {
			full = k%uint64(c.Schedule) == 0
		} else {
			full = rng.Bernoulli(s.Reset(seed, k, rng.Coin, 0), c.P)
		}
	}
	// Momentum SGD has no anchor rounds after round 0, whose full gradients give the clipped variant
	// its first estimate (with g^0 = 0 its threshold λ‖x^1 − x^0‖ would be 0 forever).
	var sample []int
	if full || c.Sampled >= c.Members {
		sample = slices.Grow(buf[:0], c.Members)[:c.Members]
		for i := range sample {
			sample[i] = i
		}
	} else if c.Sampled <= 256 {
		sample = rng.SampleInto(buf, s.Reset(seed, k, rng.Sampling, 0), c.Members, c.Sampled)
	} else {
		sample = rng.Sample(s.Reset(seed, k, rng.Sampling, 0), c.Members, c.Sampled)
	}
	return Plan{Round: k, Full: full, Sample: sample}
}

// Contains reports whether member i is in the sample.
func (p Plan) Contains(i int) bool {
	lo, hi := 0, len(p.Sample)
	for lo < hi {
		mid := (lo + hi) / 2
		switch {
		case p.Sample[mid] == i:
			return true
		case p.Sample[mid] < i:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// Leader returns the leader of attempt a of round k among n members: a fresh uniform draw per attempt,
// so a silent or lying leader is replaced by an independent one.
func Leader(seed, k uint64, attempt uint32, n int) int {
	return rng.IntN(rng.New(seed, k, rng.Leader, uint64(attempt)), n)
}
