package data

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Dataset is a binary-classification data set in compressed sparse row form.
//
// Row r's nonzeros are Indices[Indptr[r]:Indptr[r+1]] (0-based columns, strictly increasing) with values
// Values[Indptr[r]:Indptr[r+1]]; its label is Labels[r] ∈ {0, 1}. Datasets returned by this package are
// never modified by it afterwards except through NormalizeRows, so they may be shared read-only between
// goroutines.
type Dataset struct {
	Name     string
	Features int       // number of columns d
	Indptr   []int     // CSR row pointers, len Rows()+1
	Indices  []int32   // 0-based column of each nonzero, strictly increasing within a row
	Values   []float64 // value of each nonzero
	Labels   []float64 // 0 or 1 per row
}

// ErrInvalid reports a Dataset whose arrays are inconsistent (see Validate).
var ErrInvalid = errors.New("data: inconsistent dataset")

// Rows returns the number of rows (examples).
func (d *Dataset) Rows() int { return len(d.Labels) }

// NNZ returns the number of stored nonzeros.
func (d *Dataset) NNZ() int { return len(d.Values) }

// Validate checks that the CSR arrays are consistent: Indptr starts at 0, never decreases and ends at
// NNZ; Indices and Values have equal length; indices lie in [0, Features) and strictly increase within
// each row; values are finite; labels are 0 or 1. Models index their parameters by these columns, so a
// Dataset built by hand (not by ReadLIBSVM) should pass Validate before use.
func (d *Dataset) Validate() error {
	if d.Features < 0 {
		return fmt.Errorf("%w: negative feature count %d", ErrInvalid, d.Features)
	}
	if len(d.Indptr) != len(d.Labels)+1 {
		return fmt.Errorf("%w: %d row pointers for %d rows", ErrInvalid, len(d.Indptr), len(d.Labels))
	}
	if len(d.Indices) != len(d.Values) {
		return fmt.Errorf("%w: %d indices but %d values", ErrInvalid, len(d.Indices), len(d.Values))
	}
	if d.Indptr[0] != 0 || d.Indptr[len(d.Indptr)-1] != len(d.Values) {
		return fmt.Errorf("%w: row pointers span [%d, %d], want [0, %d]",
			ErrInvalid, d.Indptr[0], d.Indptr[len(d.Indptr)-1], len(d.Values))
	}
	for r, y := range d.Labels {
		lo, hi := d.Indptr[r], d.Indptr[r+1]
		if hi < lo || hi > len(d.Values) {
			return fmt.Errorf("%w: row %d has pointers %d..%d", ErrInvalid, r, lo, hi)
		}
		if y != 0 && y != 1 {
			return fmt.Errorf("%w: row %d has label %v (want 0 or 1)", ErrInvalid, r, y)
		}
		prev := int32(-1)
		for k := lo; k < hi; k++ {
			j := d.Indices[k]
			if j <= prev || int(j) >= d.Features {
				return fmt.Errorf("%w: row %d has column %d after %d (features %d)", ErrInvalid, r, j, prev, d.Features)
			}
			if v := d.Values[k]; math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: row %d column %d has value %v", ErrInvalid, r, j, v)
			}
			prev = j
		}
	}
	return nil
}

// hashDomain separates this encoding from any other SHA-256 use; bump it if the encoding changes.
const hashDomain = "byzpp/data/v1\n"

// Hash returns the SHA-256 of a canonical encoding of the data: the domain string, then little-endian
// uint64 Features, Rows and NNZ, then per row its nonzero count, each (uint32 column, float64 bits of
// the value) pair, and the float64 bits of its label. The name is not part of it.
func (d *Dataset) Hash() [32]byte {
	h := sha256.New()
	buf := make([]byte, 0, 1<<16)
	flush := func() {
		h.Write(buf)
		buf = buf[:0]
	}
	buf = append(buf, hashDomain...)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(d.Features))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(d.Rows()))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(d.NNZ()))
	for r, y := range d.Labels {
		lo, hi := d.Indptr[r], d.Indptr[r+1]
		buf = binary.LittleEndian.AppendUint64(buf, uint64(hi-lo))
		for k := lo; k < hi; k++ {
			if len(buf) > cap(buf)-32 {
				flush()
			}
			buf = binary.LittleEndian.AppendUint32(buf, uint32(d.Indices[k]))
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(d.Values[k]))
		}
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(y))
		if len(buf) > cap(buf)-64 {
			flush()
		}
	}
	flush()
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// NormalizeRows scales every row to unit L2 norm in place; all-zero rows stay zero. The norm is summed
// in index order and each value divided by it, so every machine gets the same bits.
func (d *Dataset) NormalizeRows() {
	for r := range d.Labels {
		vals := d.Values[d.Indptr[r]:d.Indptr[r+1]]
		var s float64
		for _, v := range vals {
			s = float64(v*v) + s
		}
		if s == 0 {
			continue
		}
		norm := math.Sqrt(s)
		for k := range vals {
			vals[k] /= norm
		}
	}
}

// Subset returns a new Dataset holding copies of the given rows of d, in the given order (a row listed
// twice appears twice). It panics if a row is out of range, like a slice index: callers derive rows
// from d.Rows().
func (d *Dataset) Subset(rows []int) *Dataset {
	nnz := 0
	for _, r := range rows {
		nnz += d.Indptr[r+1] - d.Indptr[r]
	}
	out := &Dataset{
		Name:     d.Name,
		Features: d.Features,
		Indptr:   make([]int, 1, len(rows)+1),
		Indices:  make([]int32, 0, nnz),
		Values:   make([]float64, 0, nnz),
		Labels:   make([]float64, 0, len(rows)),
	}
	for _, r := range rows {
		lo, hi := d.Indptr[r], d.Indptr[r+1]
		out.Indices = append(out.Indices, d.Indices[lo:hi]...)
		out.Values = append(out.Values, d.Values[lo:hi]...)
		out.Labels = append(out.Labels, d.Labels[r])
		out.Indptr = append(out.Indptr, len(out.Values))
	}
	return out
}
