package agg

import (
	"math"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
	"github.com/byzpp/byzpp/algo/vec"
)

func TestClip(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name    string
		v       []float64
		tau     float64
		want    []float64
		clipped bool
	}{
		{"inside", []float64{3, 4}, 6, []float64{3, 4}, false},
		{"on the boundary", []float64{3, 4}, 5, []float64{3, 4}, false},
		{"outside", []float64{3, 4}, 2.5, []float64{1.5, 2}, true},
		{"infinite tau", []float64{3e300, 4e300}, inf, []float64{3e300, 4e300}, false},
		{"zero vector", []float64{0, 0}, 1, []float64{0, 0}, false},
		{"zero vector, zero tau", []float64{0, 0}, 0, []float64{0, 0}, false},
		{"zero tau", []float64{1, -1}, 0, []float64{0, 0}, true},
		{"negative tau", []float64{1, -1}, -3, []float64{0, 0}, true},
		{"NaN tau", []float64{1, -1}, math.NaN(), []float64{0, 0}, true},
		{"empty", nil, 1, nil, false},
		{"huge entries", []float64{3e300, -4e300}, 10, []float64{6, -8}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := slices.Clone(tt.v)
			got := Clip(v, tt.tau)
			if got != tt.clipped {
				t.Errorf("Clip returned %v, want %v", got, tt.clipped)
			}
			if !closeTo(v, tt.want, 1e-15, 10) {
				t.Errorf("Clip → %v, want %v", v, tt.want)
			}
		})
	}
}

// Property: a clipped vector keeps its direction, has norm min(‖v‖, τ) and is unchanged when inside.
func TestClipProperties(t *testing.T) {
	r := rng.New(2, 0, rng.Init, 0)
	for trial := 0; trial < 2000; trial++ {
		d := 1 + rng.IntN(r, 20)
		v := make([]float64, d)
		scale := math.Pow(10, float64(rng.IntN(r, 30)-15))
		for i := range v {
			v[i] = rng.Normal(r) * scale
		}
		tau := rng.Float64(r) * 2 * vec.Norm(v)
		orig := slices.Clone(v)
		clipped := Clip(v, tau)
		n0, n1 := vec.Norm(orig), vec.Norm(v)
		if clipped != (n0 > tau) {
			t.Fatalf("clipped = %v with ‖v‖ = %v, τ = %v", clipped, n0, tau)
		}
		if math.Abs(n1-math.Min(n0, tau)) > 1e-14*n0 {
			t.Fatalf("‖clip(v)‖ = %v, want min(%v, %v)", n1, n0, tau)
		}
		if !clipped && !bitsEqual(v, orig) {
			t.Fatal("unclipped vector changed")
		}
		if cos := vec.Dot(v, orig) / (n0 * n1); n1 > 0 && math.Abs(cos-1) > 1e-12 {
			t.Fatalf("direction changed: cos = %v", cos)
		}
	}
}

func BenchmarkClip(b *testing.B) {
	for _, d := range []int{124, 100_000, 1_000_000} {
		r := rng.New(1, 0, rng.Init, 0)
		v := make([]float64, d)
		for i := range v {
			v[i] = rng.Normal(r)
		}
		tau := vec.Norm(v) / 2
		b.Run("d="+itoa(d), func(b *testing.B) {
			w := make([]float64, d)
			b.ReportAllocs()
			b.SetBytes(int64(8 * d))
			for b.Loop() {
				copy(w, v) // clipping is in place; restore so every iteration clips
				Clip(w, tau)
			}
		})
	}
}
