package compress

import (
	"math"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

var allSpecs = []string{"none", "randk:1", "randk:4", "randk:0.3", "randk:1.0", "dither:1", "dither:16", "natural"}

func mustParse(t testing.TB, spec string) Compressor {
	t.Helper()
	c, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestZeroStaysZero(t *testing.T) {
	for _, spec := range allSpecs {
		c := mustParse(t, spec)
		for _, d := range []int{1, 10} {
			q := c.Compress(make([]float64, d), rng.New(1, 1, rng.Compress, 1))
			if err := q.Validate(d); err != nil {
				t.Fatalf("%s: %v", spec, err)
			}
			for i, x := range q.ToDense() {
				if x != 0 {
					t.Fatalf("%s: Q(0)[%d] = %v", spec, i, x)
				}
			}
		}
	}
}

func TestEmptyVector(t *testing.T) {
	for _, spec := range allSpecs {
		q := mustParse(t, spec).Compress(nil, rng.New(1, 1, rng.Compress, 1))
		if err := q.Validate(0); err != nil {
			t.Fatalf("%s: Q(empty) invalid: %v", spec, err)
		}
	}
}

// Same stream, same input: bit-identical output, and the input is left untouched and not aliased.
func TestDeterministicAndPure(t *testing.T) {
	r := rng.New(3, 0, rng.Init, 0)
	v := make([]float64, 257)
	for i := range v {
		v[i] = rng.Normal(r)
	}
	orig := slices.Clone(v)
	for _, spec := range allSpecs {
		c := mustParse(t, spec)
		a := c.Compress(v, rng.New(11, 5, rng.Compress, 2))
		b := c.Compress(v, rng.New(11, 5, rng.Compress, 2))
		if !slices.Equal(a.Index, b.Index) || !bitsEqual(a.Values, b.Values) || a.Dim != b.Dim {
			t.Errorf("%s: two compressions with the same stream differ", spec)
		}
		if !bitsEqual(v, orig) {
			t.Fatalf("%s: Compress modified its input", spec)
		}
		if len(a.Values) > 0 && &a.Values[0] == &v[0] {
			t.Errorf("%s: output aliases the input", spec)
		}
		other := c.Compress(v, rng.New(11, 6, rng.Compress, 2))
		if spec != "none" && spec != "randk:1.0" && bitsEqual(a.ToDense(), other.ToDense()) {
			t.Errorf("%s: different rounds gave the same random output", spec)
		}
	}
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

func TestRandKStructure(t *testing.T) {
	v := make([]float64, 100)
	for i := range v {
		v[i] = float64(i) - 50.5
	}
	for _, tt := range []struct {
		spec string
		k    int
	}{{"randk:1", 1}, {"randk:7", 7}, {"randk:0.05", 5}, {"randk:0.051", 6}, {"randk:1000", 100}, {"randk:1.0", 100}} {
		q := mustParse(t, tt.spec).Compress(v, rng.New(8, 1, rng.Compress, 0))
		if err := q.Validate(100); err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		if !q.IsSparse() || len(q.Index) != tt.k {
			t.Fatalf("%s: %d indices (sparse %v), want %d", tt.spec, len(q.Index), q.IsSparse(), tt.k)
		}
		scale := 100 / float64(tt.k)
		for j, i := range q.Index {
			if q.Values[j] != v[i]*scale {
				t.Fatalf("%s: value at %d = %v, want %v", tt.spec, i, q.Values[j], v[i]*scale)
			}
		}
	}
}

// Every coordinate of a dithered vector lies on the lattice ‖v‖·{0, 1/s, …, 1}·sign(v_i), on one of the
// two levels enclosing |v_i|.
func TestDitherLevels(t *testing.T) {
	v := []float64{3, -4, 0, 0.001, -12}
	norm := math.Sqrt(9 + 16 + 0.001*0.001 + 144)
	for _, s := range []int{1, 3, 16} {
		c := dither{levels: s}
		for round := uint64(0); round < 50; round++ {
			q := c.Compress(v, rng.New(4, round, rng.Compress, 0)).ToDense()
			for i, x := range q {
				level := math.Abs(x) / norm * float64(s)
				u := math.Abs(v[i]) / norm * float64(s)
				if math.Abs(level-math.Round(level)) > 1e-9 {
					t.Fatalf("s=%d: |Q_%d| = %v is not on the lattice", s, i, x)
				}
				if math.Round(level) != math.Floor(u) && math.Round(level) != math.Floor(u)+1 {
					t.Fatalf("s=%d: level %v for u = %v", s, level, u)
				}
				if x != 0 && math.Signbit(x) != math.Signbit(v[i]) {
					t.Fatalf("s=%d: sign of Q_%d flipped", s, i)
				}
			}
		}
	}
}

func TestDitherHugeEntries(t *testing.T) {
	// ‖v‖² overflows but ‖v‖ does not: the scaled norm must still give a finite, valid lattice.
	v := []float64{1e200, -1e200, 3e199}
	q := dither{levels: 4}.Compress(v, rng.New(1, 1, rng.Compress, 0))
	if err := q.Validate(3); err != nil {
		t.Fatal(err)
	}
}

func TestRoundToPowerOfTwo(t *testing.T) {
	tests := []struct {
		x, u, want float64
	}{
		{3, 0.49, 4},  // P(up) = 2·0.75 − 1 = 0.5
		{3, 0.5, 2},   // u not < 0.5: down
		{-3, 0.2, -4}, // sign kept
		{-3, 0.9, -2},
		{4, 0, 4}, // powers of two are exact
		{-0.25, 0.999, -0.25},
		{0, 0.3, 0},
		{5, 0.24, 8}, // P(up) = 0.25
		{5, 0.26, 4},
		{math.SmallestNonzeroFloat64 * 3, 0.4, math.SmallestNonzeroFloat64 * 4},
		{math.MaxFloat64, 0.1, math.MaxFloat64}, // 2^1024 does not exist: kept exactly
		{math.MaxFloat64, 0.9999999999999999, math.Ldexp(1, 1023)},
	}
	for _, tt := range tests {
		if got := roundToPowerOfTwo(tt.x, tt.u); got != tt.want {
			t.Errorf("roundToPowerOfTwo(%v, %v) = %v, want %v", tt.x, tt.u, got, tt.want)
		}
	}
	if got := roundToPowerOfTwo(math.Copysign(0, -1), 0.5); !math.Signbit(got) || got != 0 {
		t.Errorf("−0 became %v", got)
	}
}
