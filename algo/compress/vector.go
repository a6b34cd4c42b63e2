package compress

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors wrapped by Vector.Validate, so callers can tell a malformed message from a lying one.
var (
	// ErrDimension: Dim differs from the expected dimension, or the slice lengths do not match it.
	ErrDimension = errors.New("compressed vector has the wrong dimension")
	// ErrNonFinite: a value is NaN or ±Inf.
	ErrNonFinite = errors.New("compressed vector has a non-finite value")
	// ErrIndex: a sparse index is out of range or the indices are not strictly increasing.
	ErrIndex = errors.New("compressed vector has a bad index")
)

// Vector is a possibly sparse vector of dimension Dim. Index == nil means dense (len(Values) == Dim);
// otherwise Values[j] is coordinate Index[j], with the indices strictly increasing, and every other
// coordinate is zero.
type Vector struct {
	Dim    int
	Index  []uint32
	Values []float64
}

// Dense wraps v (not copied) as a dense Vector.
func Dense(v []float64) Vector {
	return Vector{Dim: len(v), Values: v}
}

// IsSparse reports whether v carries explicit indices.
func (v Vector) IsSparse() bool { return v.Index != nil }

// ToDense returns a new slice of length Dim holding v. It expects a valid vector (see Validate); on an
// invalid one it never panics but skips whatever does not fit.
func (v Vector) ToDense() []float64 {
	out := make([]float64, max(v.Dim, 0))
	v.AddTo(out)
	return out
}

// AddTo sets dst ← dst + v, where len(dst) should be v.Dim. Like ToDense it never panics on an invalid
// vector: coordinates outside dst are skipped.
func (v Vector) AddTo(dst []float64) {
	if v.Index == nil {
		n := min(len(dst), len(v.Values))
		for i := 0; i < n; i++ {
			dst[i] += v.Values[i]
		}
		return
	}
	n := min(len(v.Index), len(v.Values))
	for j := 0; j < n; j++ {
		if i := v.Index[j]; uint64(i) < uint64(len(dst)) {
			dst[i] += v.Values[j]
		}
	}
}

// Validate checks that v is a well-formed vector of dimension dim: Dim == dim, the lengths match, sparse
// indices are in range and strictly increasing, and every value is finite. Errors wrap ErrDimension,
// ErrIndex or ErrNonFinite.
func (v Vector) Validate(dim int) error {
	if dim < 0 || v.Dim != dim {
		return fmt.Errorf("%w: dimension %d, want %d", ErrDimension, v.Dim, dim)
	}
	if v.Index == nil {
		if len(v.Values) != dim {
			return fmt.Errorf("%w: dense vector has %d values, want %d", ErrDimension, len(v.Values), dim)
		}
	} else {
		if len(v.Index) != len(v.Values) {
			return fmt.Errorf("%w: %d indices but %d values", ErrDimension, len(v.Index), len(v.Values))
		}
		if len(v.Index) > dim {
			return fmt.Errorf("%w: %d sparse entries exceed dimension %d", ErrDimension, len(v.Index), dim)
		}
		for j, i := range v.Index {
			if uint64(i) >= uint64(dim) {
				return fmt.Errorf("%w: index %d at position %d is outside [0, %d)", ErrIndex, i, j, dim)
			}
			if j > 0 && i <= v.Index[j-1] {
				return fmt.Errorf("%w: index %d at position %d does not exceed its predecessor %d", ErrIndex, i, j, v.Index[j-1])
			}
		}
	}
	for j, x := range v.Values {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: value %v at position %d", ErrNonFinite, x, j)
		}
	}
	return nil
}
