package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMeanGradPowerOfTwo: for a power-of-two row count meanGrad multiplies by the reciprocal instead of
// dividing; the bits must be the division's, subnormal and huge sums included.
func TestMeanGradPowerOfTwo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sums := []float64{0, math.Copysign(0, -1), 1, -3, math.SmallestNonzeroFloat64, 3 * math.SmallestNonzeroFloat64,
		0x1p-1022, 0x1.fffffffffffffp-1020, math.MaxFloat64, -math.MaxFloat64, math.Inf(1), math.NaN()}
	for range 2000 {
		sums = append(sums, math.Float64frombits(r.Uint64()))
	}
	for _, n := range []int{1, 2, 32, 64, 1 << 20, 3, 31, 100} {
		grad := append([]float64(nil), sums...)
		x := make([]float64, len(grad)) // with l2 = 0 the penalty adds 0·0, as in the reference below
		meanGrad(x, grad, 0, n)
		for i, s := range sums {
			want := float64(s/float64(n)) + float64(0*x[i])
			if math.Float64bits(grad[i]) != math.Float64bits(want) && !(math.IsNaN(want) && math.IsNaN(grad[i])) {
				t.Fatalf("n = %d, sum %v (%#x): meanGrad %v (%#x), division %v", n, s, math.Float64bits(s), grad[i], math.Float64bits(grad[i]), want)
			}
		}
	}
}
