package data

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func small() *Dataset {
	return &Dataset{
		Name:     "small",
		Features: 4,
		Indptr:   []int{0, 2, 2, 5},
		Indices:  []int32{0, 3, 0, 1, 2},
		Values:   []float64{3, 4, 1, -2, 2},
		Labels:   []float64{1, 0, 1},
	}
}

func TestNormalizeRows(t *testing.T) {
	d := small()
	d.NormalizeRows()
	want := []float64{0.6, 0.8, 1.0 / 3, -2.0 / 3, 2.0 / 3}
	for k, v := range d.Values {
		if math.Abs(v-want[k]) > 1e-15 {
			t.Errorf("value %d: %v, want %v", k, v, want[k])
		}
	}
	for r := range d.Rows() {
		var s float64
		for _, v := range d.Values[d.Indptr[r]:d.Indptr[r+1]] {
			s += v * v
		}
		if empty := d.Indptr[r] == d.Indptr[r+1]; !empty && math.Abs(s-1) > 1e-15 {
			t.Errorf("row %d has squared norm %v", r, s)
		}
	}
}

func TestSubset(t *testing.T) {
	d := small()
	s := d.Subset([]int{2, 0, 2, 1})
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Labels, []float64{1, 1, 1, 0}) || !slices.Equal(s.Indptr, []int{0, 3, 5, 8, 8}) ||
		!slices.Equal(s.Values, []float64{1, -2, 2, 3, 4, 1, -2, 2}) || s.Features != 4 {
		t.Fatalf("got %+v", s)
	}
	s.Values[0] = 99
	if d.Values[2] != 1 {
		t.Fatal("Subset shares storage with its source")
	}
	if e := d.Subset(nil); e.Rows() != 0 || e.Validate() != nil {
		t.Fatalf("empty subset: %+v", e)
	}
}

func TestHash(t *testing.T) {
	base := small().Hash()
	if small().Hash() != base {
		t.Fatal("hash is not deterministic")
	}
	renamed := small()
	renamed.Name = "other"
	if renamed.Hash() != base {
		t.Error("the name should not change the hash")
	}
	changes := map[string]func(d *Dataset){
		"features":    func(d *Dataset) { d.Features = 5 },
		"label":       func(d *Dataset) { d.Labels[1] = 1 },
		"value":       func(d *Dataset) { d.Values[4] = math.Nextafter(2, 3) },
		"index":       func(d *Dataset) { d.Indices[1] = 2 },
		"row split":   func(d *Dataset) { d.Indptr[1] = 1 },
		"row order":   func(d *Dataset) { *d = *d.Subset([]int{2, 1, 0}) },
		"drop row":    func(d *Dataset) { *d = *d.Subset([]int{0, 1}) },
		"negative 0":  func(d *Dataset) { d.Values[0] = math.Copysign(0, -1) },
		"extra empty": func(d *Dataset) { *d = *d.Subset([]int{0, 1, 2, 1}) },
	}
	for name, change := range changes {
		d := small()
		change(d)
		if d.Hash() == base {
			t.Errorf("%s: hash unchanged", name)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := small().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(d *Dataset){
		"negative features": func(d *Dataset) { d.Features = -1 },
		"short indptr":      func(d *Dataset) { d.Indptr = d.Indptr[:3] },
		"indptr start":      func(d *Dataset) { d.Indptr[0] = 1 },
		"indptr end":        func(d *Dataset) { d.Indptr[3] = 4 },
		"indptr decreasing": func(d *Dataset) { d.Indptr[1] = 3; d.Indptr[2] = 2 },
		"length mismatch":   func(d *Dataset) { d.Values = d.Values[:4] },
		"label":             func(d *Dataset) { d.Labels[0] = -1 },
		"column range":      func(d *Dataset) { d.Indices[1] = 4 },
		"negative column":   func(d *Dataset) { d.Indices[0] = -1 },
		"order":             func(d *Dataset) { d.Indices[3] = 0 },
		"nan":               func(d *Dataset) { d.Values[2] = math.NaN() },
		"inf":               func(d *Dataset) { d.Values[2] = math.Inf(-1) },
	}
	for name, breakIt := range bad {
		d := small()
		breakIt(d)
		if err := d.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}
