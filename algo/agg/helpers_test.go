package agg

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// allSpecs covers every aggregator, with and without bucketing.
var allSpecs = []string{
	"mean", "cm", "tm", "krum", "mkrum:3", "gm", "gm:iters=20,nu=0.01", "cclip", "cclip:tau=0.5,iters=5",
	"bucket2(cm)", "bucket3(krum)", "bucket2(tm)",
}

func mustParse(t testing.TB, spec string) Aggregator {
	t.Helper()
	a, err := Parse(spec)
	if err != nil {
		t.Fatalf("Parse(%q): %v", spec, err)
	}
	return a
}

func testContext(round uint64, f int) Context {
	return Context{Rand: rng.New(42, round, rng.Bucket, 0), Byzantine: f}
}

// randomInputs returns n vectors of dimension d of one of several shapes, including adversarial ones
// (ties, duplicates, signed zeros, huge and tiny magnitudes).
func randomInputs(r *rand.Rand, n, d, shape int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, d)
		for c := range out[i] {
			var x float64
			switch shape % 6 {
			case 0: // continuous
				x = rng.Normal(r)
			case 1: // many ties
				x = float64(rng.IntN(r, 3)) - 1
			case 2: // signed zeros and ones
				x = []float64{0, math.Copysign(0, -1), 1, -1}[rng.IntN(r, 4)]
			case 3: // wildly different scales
				x = rng.Normal(r) * math.Pow(10, float64(rng.IntN(r, 41)-20))
			case 4: // a few huge outliers among normal values
				x = rng.Normal(r)
				if i < n/4 {
					x *= 1e15
				}
			case 5: // every input the same
				x = float64(c) - 0.5
			}
			out[i][c] = x
		}
	}
	return out
}

func cloneAll(vs [][]float64) [][]float64 {
	out := make([][]float64, len(vs))
	for i, v := range vs {
		out[i] = slices.Clone(v)
	}
	return out
}

func bitsEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

func allBitsEqual(a, b [][]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bitsEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// closeTo reports |a − b| ≤ tol·scale coordinate-wise.
func closeTo(a, b []float64, tol, scale float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol*scale {
			return false
		}
	}
	return true
}

func maxAbs(vs [][]float64) float64 {
	var m float64
	for _, v := range vs {
		for _, x := range v {
			m = math.Max(m, math.Abs(x))
		}
	}
	return m
}

func column(vs [][]float64, c int) []float64 {
	col := make([]float64, len(vs))
	for i, v := range vs {
		col[i] = v[c]
	}
	return col
}
