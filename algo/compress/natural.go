package compress

import (
	"math"
	"math/rand/v2"

	"github.com/byzpp/byzpp/algo/rng"
)

// natural is natural compression (Horváth et al., "Natural compression for distributed deep learning"):
// a magnitude a ∈ [2^e, 2^(e+1)) becomes 2^(e+1) with probability (a − 2^e)/2^e and 2^e otherwise, which
// is unbiased; signs and zeros are kept. The worst case of the variance ratio is at a = (4/3)·2^e and
// gives ω = 1/8. On the wire such values need only a sign and an exponent; here they stay float64.
type natural struct{}

func (natural) Name() string      { return "natural" }
func (natural) Omega(int) float64 { return 1.0 / 8 }

func (natural) Compress(v []float64, r *rand.Rand) Vector {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = roundToPowerOfTwo(x, rng.Float64(r))
	}
	return Dense(out)
}

// roundToPowerOfTwo rounds |x| to a neighbouring power of two using the uniform draw u ∈ [0, 1). A
// uniform draw is consumed for every coordinate, zero or not, so the stream position never depends on v.
func roundToPowerOfTwo(x, u float64) float64 {
	a := math.Abs(x)
	if a == 0 || math.IsInf(a, 0) || math.IsNaN(a) {
		return x
	}
	var low float64
	if b := math.Float64bits(a); b>>52 != 0 {
		// Normal number: clearing the mantissa leaves the power of two just below (much cheaper than
		// Frexp/Ldexp, which matters at a million coordinates).
		low = math.Float64frombits(b &^ (1<<52 - 1))
	} else {
		_, exp := math.Frexp(a) // subnormal: a = frac·2^exp with frac ∈ [0.5, 1)
		low = math.Ldexp(1, exp-1)
	}
	// P(up) = (a − low)/low ∈ [0, 1), exact in float64: a − low is exact (Sterbenz) and dividing by a
	// power of two only shifts the exponent.
	if u < (a-low)/low {
		high := 2 * low
		if math.IsInf(high, 0) {
			return x // 2^1024 does not exist: keep the exact value, which is trivially unbiased
		}
		return math.Copysign(high, x)
	}
	return math.Copysign(low, x)
}
