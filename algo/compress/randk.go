package compress

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/byzpp/byzpp/algo/rng"
	"github.com/byzpp/byzpp/algo/vec"
)

// randK keeps K coordinates drawn uniformly without replacement and scales them by d/K. Each coordinate
// survives with probability K/d, so the scaling makes it unbiased, and E‖Q(v) − v‖² = (d/K − 1)‖v‖²
// exactly. Exactly one of k (a count) and frac (a fraction of d) is set.
type randK struct {
	k    int
	frac float64
}

func (c randK) Name() string {
	if c.k > 0 {
		return "randk:" + strconv.Itoa(c.k)
	}
	s := strconv.FormatFloat(c.frac, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0" // keep it a fraction when parsed back: "randk:1" would mean one coordinate
	}
	return "randk:" + s
}

// count is the number of coordinates kept at dimension d ≥ 1: in [1, d].
func (c randK) count(d int) int {
	k := c.k
	if k == 0 {
		x := c.frac * float64(d)
		// Round up, except that a product meant to be whole (0.1·30 = 3.0000000000000004) is not pushed
		// to the next integer by its rounding error.
		if r := math.Round(x); math.Abs(x-r) <= 1e-9*x {
			x = r
		}
		k = int(math.Ceil(x))
	}
	return max(1, min(k, d))
}

func (c randK) Omega(d int) float64 {
	if d <= 0 {
		return 0
	}
	return float64(d)/float64(c.count(d)) - 1
}

func (c randK) Compress(v []float64, r *rand.Rand) Vector {
	d := len(v)
	if d == 0 || uint64(d) > math.MaxUint32 {
		// Nothing to sample, or indices would not fit the wire format: the identity is still unbiased.
		return Dense(vec.Clone(v))
	}
	k := c.count(d)
	picked := rng.Sample(r, d, k)
	scale := float64(d) / float64(k)
	out := Vector{Dim: d, Index: make([]uint32, k), Values: make([]float64, k)}
	for j, i := range picked {
		out.Index[j] = uint32(i)
		out.Values[j] = v[i] * scale
	}
	return out
}
