package agg

import (
	"math"

	"github.com/byzpp/byzpp/algo/vec"
)

// Clip sets v ← min(1, tau/‖v‖)·v in place and reports whether v changed. tau = +Inf or ‖v‖ ≤ tau leave v
// unchanged, and the zero vector stays zero. A negative or NaN tau is treated as 0 (v becomes zero): when
// the threshold itself is broken the safe reading is "accept nothing". v must be finite; a v holding a
// NaN is left as it is.
func Clip(v []float64, tau float64) bool {
	if math.IsInf(tau, 1) {
		return false
	}
	if !(tau > 0) {
		tau = 0
	}
	n := safeNorm(v)
	if !(n > tau) {
		return false
	}
	if tau == 0 {
		vec.Zero(v)
		return true
	}
	if math.IsInf(n, 1) {
		// Only reachable if some entry is infinite: such a vector has no meaningful direction.
		vec.Zero(v)
		return true
	}
	vec.Scale(tau/n, v)
	return true
}

// safeNorm is ‖v‖. When the plain sum of squares overflows (entries beyond ~1e154) it is recomputed on v
// scaled by its largest magnitude, so a Byzantine vector with huge but finite entries is still clipped
// onto the right direction rather than zeroed or turned into NaN.
func safeNorm(v []float64) float64 {
	n := vec.Norm(v)
	if !math.IsInf(n, 1) {
		return n
	}
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	if math.IsInf(m, 1) {
		return m
	}
	var s float64
	for _, x := range v {
		y := x / m
		s = float64(y*y) + s
	}
	return m * math.Sqrt(s)
}
