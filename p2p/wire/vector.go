package wire

import "fmt"

// Vector is a possibly sparse vector of dimension Dim, laid out like algo/compress.Vector: Index == nil
// means dense (len(Values) == Dim); otherwise Values[j] is coordinate Index[j], the indices strictly
// increasing and below Dim, every other coordinate zero. A sparse vector may have no entries at all.
//
// On the wire: [Dim, Sparse bool, Index as one bin of little-endian uint32, Values as one bin of
// little-endian float64]. A dense vector's Index bin is empty. The explicit Sparse flag keeps the
// distinction between "dense" and "sparse with no entries" that the compressors make.
type Vector struct {
	Dim    uint32
	Index  []uint32
	Values []float64
}

// Dense wraps v (not copied) as a dense Vector.
func Dense(v []float64) Vector { return Vector{Dim: uint32(len(v)), Values: v} }

// IsSparse reports whether v carries explicit indices.
func (v *Vector) IsSparse() bool { return v.Index != nil }

// Validate checks v against lim: 1 <= Dim <= MaxDim, lengths consistent, indices strictly increasing and
// below Dim, every value finite.
func (v *Vector) Validate(lim *Limits) error {
	if v.Dim == 0 {
		return fmt.Errorf("%w: vector dimension 0", ErrDimension)
	}
	if v.Dim > lim.MaxDim {
		return fmt.Errorf("%w: vector dimension %d, limit %d", ErrTooLarge, v.Dim, lim.MaxDim)
	}
	if v.Index == nil {
		if len(v.Values) != int(v.Dim) {
			return fmt.Errorf("%w: dense vector has %d values, dimension %d", ErrDimension, len(v.Values), v.Dim)
		}
	} else {
		if len(v.Index) != len(v.Values) {
			return fmt.Errorf("%w: %d indices but %d values", ErrDimension, len(v.Index), len(v.Values))
		}
		if len(v.Index) > int(v.Dim) {
			return fmt.Errorf("%w: %d sparse entries exceed dimension %d", ErrDimension, len(v.Index), v.Dim)
		}
		if err := checkIncreasing(v.Index, v.Dim, "vector index"); err != nil {
			return err
		}
	}
	return checkFinite(v.Values, "vector value")
}

// encodedSize is the exact number of bytes encode writes (headers are at most 5 bytes each).
func (v *Vector) encodedSize() int { return 1 + 5 + 1 + 5 + 4*len(v.Index) + 5 + 8*len(v.Values) }

func (v *Vector) encode(w *encoder) {
	w.fields(4)
	w.uint(uint64(v.Dim))
	w.bool(v.Index != nil)
	w.uint32s(v.Index)
	w.floats(v.Values)
}

// decode parses a vector, checking only shape and caps; the caller validates the whole message after.
func (v *Vector) decode(r *decoder) error {
	if err := r.fields(4, "vector"); err != nil {
		return err
	}
	dim, err := r.uint(maxUint32, "vector dimension")
	if err != nil {
		return err
	}
	if dim > uint64(r.lim.MaxDim) {
		return fmt.Errorf("%w: vector dimension %d, limit %d", ErrTooLarge, dim, r.lim.MaxDim)
	}
	sparse, err := r.bool("vector sparse flag")
	if err != nil {
		return err
	}
	idx, err := r.uint32s(int(dim), "vector index")
	if err != nil {
		return err
	}
	if !sparse {
		if len(idx) != 0 {
			return fmt.Errorf("%w: dense vector carries %d indices", ErrDimension, len(idx))
		}
		idx = nil
	}
	vals, err := r.floats(int(dim), "vector value")
	if err != nil {
		return err
	}
	*v = Vector{Dim: uint32(dim), Index: idx, Values: vals}
	return nil
}
