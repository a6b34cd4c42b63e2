package agg

import (
	"errors"
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

func TestCheckInputs(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name   string
		inputs [][]float64
		dim    int
		want   error
	}{
		{"ok", [][]float64{{1, 2}, {3, 4}}, 2, nil},
		{"one input", [][]float64{{1}}, 1, nil},
		{"none", nil, 0, ErrEmpty},
		{"empty list", [][]float64{}, 0, ErrEmpty},
		{"zero length", [][]float64{{}, {}}, 0, ErrDimension},
		{"short second", [][]float64{{1, 2}, {3}}, 0, ErrDimension},
		{"long last", [][]float64{{1}, {2}, {3, 4}}, 0, ErrDimension},
		{"nil among", [][]float64{{1}, nil}, 0, ErrDimension},
		{"NaN", [][]float64{{1, 2}, {nan, 4}}, 0, ErrNonFinite},
		{"+Inf", [][]float64{{inf}}, 0, ErrNonFinite},
		{"-Inf", [][]float64{{0}, {-inf}}, 0, ErrNonFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dim, err := CheckInputs(tt.inputs)
			if tt.want == nil {
				if err != nil || dim != tt.dim {
					t.Fatalf("CheckInputs = %d, %v; want %d, nil", dim, err, tt.dim)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckInputs = %v, want an error wrapping %v", err, tt.want)
			}
		})
	}
}

// Every aggregator refuses malformed input with the right sentinel instead of panicking or returning
// garbage.
func TestAggregatorsRefuseBadInputs(t *testing.T) {
	bad := []struct {
		name   string
		inputs [][]float64
		want   error
	}{
		{"empty", nil, ErrEmpty},
		{"wrong length", [][]float64{{1, 2}, {1, 2}, {1}}, ErrDimension},
		{"zero length", [][]float64{{}, {}}, ErrDimension},
		{"NaN", [][]float64{{1, 2}, {math.NaN(), 0}, {1, 1}}, ErrNonFinite},
		{"Inf", [][]float64{{1, 2}, {0, math.Inf(-1)}, {1, 1}}, ErrNonFinite},
	}
	for _, spec := range allSpecs {
		a := mustParse(t, spec)
		for _, b := range bad {
			out, err := a.Aggregate(b.inputs, testContext(0, 1))
			if !errors.Is(err, b.want) || out != nil {
				t.Errorf("%s on %s: got %v, %v; want an error wrapping %v", spec, b.name, out, err, b.want)
			}
		}
	}
}

// Finite inputs at the edge of float64 never make an aggregation fail or return a non-finite vector: a
// Byzantine member must not be able to stall a round by sending huge numbers.
func TestHugeFiniteInputsNeverFail(t *testing.T) {
	big := math.MaxFloat64
	cases := [][][]float64{
		{{big, 1}, {big, 1}, {big, 1}},
		{{big, -big}, {-big, big}, {big, big}, {1, 2}},
		{{big, big}, {big, big}, {0.5, 0.5}, {1, 1}, {-big, 3}},
	}
	for _, spec := range allSpecs {
		for k, inputs := range cases {
			out, err := mustParse(t, spec).Aggregate(inputs, testContext(uint64(k), 1))
			if err != nil {
				t.Errorf("%s, case %d: %v", spec, k, err)
				continue
			}
			for _, x := range out {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Errorf("%s, case %d: non-finite result %v", spec, k, out)
				}
			}
		}
	}
	out, err := mustParse(t, "mean").Aggregate(cases[0], testContext(0, 0))
	if err != nil || math.Abs(out[0]-big) > 1e-15*big {
		t.Errorf("mean of three MaxFloat64 = %v, %v; want ≈ MaxFloat64", out, err)
	}
}

// Same inputs, same context: bit-identical output, inputs untouched, output not aliasing any input.
func TestDeterministicAndPure(t *testing.T) {
	r := rng.New(1, 0, rng.Init, 0)
	for shape := 0; shape < 6; shape++ {
		for _, n := range []int{1, 2, 5, 8} {
			inputs := randomInputs(r, n, 33, shape)
			orig := cloneAll(inputs)
			for _, spec := range allSpecs {
				a := mustParse(t, spec)
				first, err1 := a.Aggregate(inputs, testContext(7, 1))
				second, err2 := a.Aggregate(inputs, testContext(7, 1))
				if (err1 == nil) != (err2 == nil) || !bitsEqual(first, second) {
					t.Fatalf("%s, shape %d, n=%d: repeated calls differ (%v, %v)", spec, shape, n, err1, err2)
				}
				if !allBitsEqual(inputs, orig) {
					t.Fatalf("%s modified its inputs", spec)
				}
				if err1 != nil {
					if !errors.Is(err1, ErrNonFinite) {
						t.Fatalf("%s, shape %d: %v", spec, shape, err1)
					}
					continue
				}
				if len(first) != 33 {
					t.Fatalf("%s: output length %d", spec, len(first))
				}
				for _, in := range inputs {
					if &first[0] == &in[0] {
						t.Fatalf("%s returned an input's backing array", spec)
					}
				}
			}
		}
	}
}

// With a single input, every aggregator returns it (CClip only approaches it, from the center).
func TestSingleInput(t *testing.T) {
	in := [][]float64{{1.5, -2, 0}}
	for _, spec := range allSpecs {
		out, err := mustParse(t, spec).Aggregate(in, testContext(0, 3))
		if err != nil {
			t.Fatal(err)
		}
		tol := 0.0
		switch spec {
		case "gm", "gm:iters=20,nu=0.01":
			tol = 1e-12
		case "cclip", "cclip:tau=0.5,iters=5":
			continue
		}
		if !closeTo(out, in[0], tol, 2) {
			t.Errorf("%s of one input = %v", spec, out)
		}
	}
}
