package compress

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/byzpp/byzpp/algo/rng"
	"github.com/byzpp/byzpp/algo/vec"
)

// dither is QSGD-style random dithering with s levels relative to the ℓ2 norm: coordinate i becomes
// ‖v‖·sign(v_i)·ξ_i/s, where u = s|v_i|/‖v‖ is rounded stochastically to ⌊u⌋ or ⌊u⌋ + 1 with
// probabilities that make E ξ_i = u. Per coordinate the variance is (‖v‖/s)²·p(1 − p), p = u − ⌊u⌋,
// which sums to at most min(d/s², √d/s)·‖v‖² (Alistarh et al. 2017, Lemma 3.1).
type dither struct{ levels int }

func (c dither) Name() string { return "dither:" + strconv.Itoa(c.levels) }

func (c dither) Omega(d int) float64 {
	if d <= 0 {
		return 0
	}
	s := float64(c.levels)
	return math.Min(float64(d)/(s*s), math.Sqrt(float64(d))/s)
}

func (c dither) Compress(v []float64, r *rand.Rand) Vector {
	norm := stableNorm(v)
	if norm == 0 || math.IsInf(norm, 0) || math.IsNaN(norm) {
		// Zero stays zero; a norm beyond float64 cannot be quantised against, so send v exactly.
		return Dense(vec.Clone(v))
	}
	s := float64(c.levels)
	out := make([]float64, len(v))
	for i, x := range v {
		u := math.Abs(x) / norm * s
		level := math.Floor(u)
		if rng.Float64(r) < u-level {
			level++
		}
		out[i] = math.Copysign(norm*(level/s), x)
	}
	return Dense(out)
}

// stableNorm is ‖v‖₂, computed on v scaled by its largest magnitude when the plain sum of squares
// overflows (finite entries above ~1e154), so that any finite v with a representable norm gets one.
func stableNorm(v []float64) float64 {
	n := vec.Norm(v)
	if !math.IsInf(n, 0) {
		return n
	}
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	if math.IsInf(m, 0) || m == 0 {
		return n
	}
	var sum float64
	for _, x := range v {
		y := x / m
		sum = float64(y*y) + sum
	}
	return m * math.Sqrt(sum)
}
