package compress

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestToDenseAndAddTo(t *testing.T) {
	tests := []struct {
		name string
		v    Vector
		want []float64
	}{
		{"dense", Dense([]float64{1, -2, 3}), []float64{1, -2, 3}},
		{"sparse", Vector{Dim: 5, Index: []uint32{0, 3}, Values: []float64{7, -1}}, []float64{7, 0, 0, -1, 0}},
		{"sparse empty", Vector{Dim: 3, Index: []uint32{}, Values: []float64{}}, []float64{0, 0, 0}},
		{"zero dimension", Dense(nil), []float64{}},
		// Invalid vectors must not panic; what fits is kept.
		{"index out of range", Vector{Dim: 2, Index: []uint32{1, 9}, Values: []float64{4, 5}}, []float64{0, 4}},
		{"dense too long", Vector{Dim: 2, Values: []float64{1, 2, 3}}, []float64{1, 2}},
		{"negative dimension", Vector{Dim: -3, Values: []float64{1}}, []float64{}},
		{"more indices than values", Vector{Dim: 3, Index: []uint32{0, 1, 2}, Values: []float64{1}}, []float64{1, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.v.ToDense()
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ToDense() = %v, want %v", got, tt.want)
			}
			dst := make([]float64, len(tt.want))
			for i := range dst {
				dst[i] = float64(i) + 0.5
			}
			tt.v.AddTo(dst)
			for i := range dst {
				if want := float64(i) + 0.5 + tt.want[i]; dst[i] != want {
					t.Fatalf("AddTo: dst[%d] = %v, want %v", i, dst[i], want)
				}
			}
		})
	}
}

func TestToDenseDoesNotAlias(t *testing.T) {
	src := []float64{1, 2}
	d := Dense(src).ToDense()
	d[0] = 99
	if src[0] != 1 {
		t.Fatal("ToDense returned the input's backing array")
	}
}

func TestValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name string
		v    Vector
		dim  int
		want error // nil: valid
	}{
		{"dense ok", Dense([]float64{1, 2, 3}), 3, nil},
		{"sparse ok", Vector{Dim: 4, Index: []uint32{0, 3}, Values: []float64{1, 2}}, 4, nil},
		{"sparse empty ok", Vector{Dim: 4, Index: []uint32{}, Values: []float64{}}, 4, nil},
		{"sparse full ok", Vector{Dim: 2, Index: []uint32{0, 1}, Values: []float64{1, 2}}, 2, nil},
		{"zero dim ok", Vector{}, 0, nil},
		{"wrong Dim", Dense([]float64{1, 2, 3}), 4, ErrDimension},
		{"negative expected dim", Vector{Dim: -1}, -1, ErrDimension},
		{"dense short", Vector{Dim: 3, Values: []float64{1, 2}}, 3, ErrDimension},
		{"dense long", Vector{Dim: 1, Values: []float64{1, 2}}, 1, ErrDimension},
		{"index/value mismatch", Vector{Dim: 4, Index: []uint32{0, 1}, Values: []float64{1}}, 4, ErrDimension},
		{"too many entries", Vector{Dim: 1, Index: []uint32{0, 0}, Values: []float64{1, 1}}, 1, ErrDimension},
		{"index out of range", Vector{Dim: 4, Index: []uint32{4}, Values: []float64{1}}, 4, ErrIndex},
		{"huge index", Vector{Dim: 4, Index: []uint32{math.MaxUint32}, Values: []float64{1}}, 4, ErrIndex},
		{"duplicate index", Vector{Dim: 4, Index: []uint32{1, 1}, Values: []float64{1, 2}}, 4, ErrIndex},
		{"decreasing index", Vector{Dim: 4, Index: []uint32{2, 1}, Values: []float64{1, 2}}, 4, ErrIndex},
		{"dense NaN", Dense([]float64{1, nan}), 2, ErrNonFinite},
		{"dense +Inf", Dense([]float64{inf}), 1, ErrNonFinite},
		{"sparse -Inf", Vector{Dim: 3, Index: []uint32{2}, Values: []float64{-inf}}, 3, ErrNonFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Validate(tt.dim)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate(%d) = %v, want nil", tt.dim, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate(%d) = %v, want an error wrapping %v", tt.dim, err, tt.want)
			}
		})
	}
}

// FuzzValidate builds arbitrary (often malformed) vectors, as a peer could send them, and checks that
// Validate never panics, that ToDense/AddTo never panic either, and that a vector Validate accepts
// round-trips through ToDense.
func FuzzValidate(f *testing.F) {
	f.Add(4, true, []byte{0, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(2, false, []byte{}, []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(-1, true, []byte{255}, []byte{})
	f.Fuzz(func(t *testing.T, dim int, sparse bool, idx []byte, raw []byte) {
		if dim > 1<<16 {
			dim = 1 << 16
		}
		v := Vector{Dim: dim}
		for len(raw) >= 8 {
			var bits uint64
			for k := 0; k < 8; k++ {
				bits |= uint64(raw[k]) << (8 * k)
			}
			v.Values = append(v.Values, math.Float64frombits(bits))
			raw = raw[8:]
		}
		if sparse {
			v.Index = []uint32{}
			for _, b := range idx {
				v.Index = append(v.Index, uint32(b))
			}
		}
		err := v.Validate(dim)
		d := v.ToDense()
		v.AddTo(make([]float64, 3))
		if err != nil {
			if !errors.Is(err, ErrDimension) && !errors.Is(err, ErrIndex) && !errors.Is(err, ErrNonFinite) {
				t.Fatalf("Validate error %v wraps no sentinel", err)
			}
			return
		}
		if len(d) != dim {
			t.Fatalf("valid vector: ToDense has length %d, want %d", len(d), dim)
		}
		var nonzeros int
		for _, x := range d {
			if x != 0 {
				nonzeros++
			}
		}
		if nonzeros > len(v.Values) {
			t.Fatalf("ToDense has %d non-zeros from %d values", nonzeros, len(v.Values))
		}
		if sparse {
			for j, i := range v.Index {
				if d[i] != v.Values[j] {
					t.Fatalf("coordinate %d = %v, want %v", i, d[i], v.Values[j])
				}
			}
		} else if !slices.Equal(d, v.Values) {
			t.Fatal("dense ToDense differs from Values")
		}
	})
}
