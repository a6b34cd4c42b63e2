package vec

import "math"

// Dot returns Σ a_i b_i, summed in index order. The slices must have equal length.
func Dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s float64
	for i, x := range a {
		s = float64(x*b[i]) + s
	}
	return s
}

// SqNorm returns ‖a‖².
func SqNorm(a []float64) float64 { return Dot(a, a) }

// Norm returns ‖a‖ (Euclidean).
func Norm(a []float64) float64 { return math.Sqrt(SqNorm(a)) }

// SqDist returns ‖a − b‖².
func SqDist(a, b []float64) float64 {
	b = b[:len(a)]
	var s float64
	for i, x := range a {
		d := x - b[i]
		s = float64(d*d) + s
	}
	return s
}

// Axpy sets y ← y + alpha·x.
func Axpy(alpha float64, x, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = float64(alpha*v) + y[i]
	}
}

// Scale sets a ← alpha·a.
func Scale(alpha float64, a []float64) {
	for i := range a {
		a[i] *= alpha
	}
}

// Sub sets dst ← a − b.
func Sub(dst, a, b []float64) {
	b = b[:len(a)]
	dst = dst[:len(a)]
	for i := range a {
		dst[i] = a[i] - b[i]
	}
}

// Add sets dst ← a + b.
func Add(dst, a, b []float64) {
	b = b[:len(a)]
	dst = dst[:len(a)]
	for i := range a {
		dst[i] = a[i] + b[i]
	}
}

// Clone returns a copy of a (nil for nil).
func Clone(a []float64) []float64 {
	if a == nil {
		return nil
	}
	out := make([]float64, len(a))
	copy(out, a)
	return out
}

// Zero sets every entry of a to 0.
func Zero(a []float64) {
	for i := range a {
		a[i] = 0
	}
}

// AllFinite reports whether no entry is NaN or ±Inf.
func AllFinite(a []float64) bool {
	for _, x := range a {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// Mean sets dst to the mean of vs (in input order). vs must be non-empty and all of len(dst).
func Mean(dst []float64, vs [][]float64) {
	Zero(dst)
	for _, v := range vs {
		Add(dst, dst, v)
	}
	Scale(1/float64(len(vs)), dst)
}
