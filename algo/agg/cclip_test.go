package agg

import (
	"errors"
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// centeredClipByDefinition writes v ← v + (1/N) Σ clip_τ(v_i − v) out directly.
func centeredClipByDefinition(inputs [][]float64, center []float64, tau float64, iters int) []float64 {
	v := make([]float64, len(inputs[0]))
	copy(v, center)
	for t := 0; t < iters; t++ {
		step := make([]float64, len(v))
		for _, x := range inputs {
			var norm float64
			for c := range x {
				norm += (x[c] - v[c]) * (x[c] - v[c])
			}
			norm = math.Sqrt(norm)
			scale := 1.0
			if norm > tau {
				scale = tau / norm
			}
			for c := range x {
				step[c] += scale * (x[c] - v[c])
			}
		}
		for c := range v {
			v[c] += step[c] / float64(len(inputs))
		}
	}
	return v
}

func TestCClipMatchesDefinition(t *testing.T) {
	r := rng.New(13, 0, rng.Init, 0)
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(r, 20)
		d := 1 + rng.IntN(r, 30)
		inputs := randomInputs(r, n, d, []int{0, 1, 2, 5}[trial%4])
		var center []float64
		if trial%2 == 1 {
			center = randomInputs(r, 1, d, 0)[0]
		}
		c := centeredClip{tau: []float64{0.1, 1, 10}[trial%3], iters: 1 + rng.IntN(r, 5)}
		got, err := c.Aggregate(inputs, Context{Center: center})
		if err != nil {
			t.Fatal(err)
		}
		if want := centeredClipByDefinition(inputs, center, c.tau, c.iters); !closeTo(got, want, 1e-12, 1+maxAbs(inputs)) {
			t.Fatalf("trial %d: cclip = %v, definition %v", trial, got, want)
		}
	}
}

func TestCClipCenter(t *testing.T) {
	c := centeredClip{tau: 1, iters: 1}
	in := [][]float64{{10, 0}, {10, 0}}
	// From the origin one step moves by τ toward the inputs; from a center at them it stays there.
	got, _ := c.Aggregate(in, Context{})
	if !closeTo(got, []float64{1, 0}, 1e-15, 1) {
		t.Errorf("from 0: %v, want [1 0]", got)
	}
	got, _ = c.Aggregate(in, Context{Center: []float64{10, 0}})
	if !closeTo(got, []float64{10, 0}, 0, 1) {
		t.Errorf("from the inputs: %v, want [10 0]", got)
	}
	if _, err := c.Aggregate(in, Context{Center: []float64{1}}); !errors.Is(err, ErrDimension) {
		t.Errorf("short center: %v, want ErrDimension", err)
	}
	if _, err := c.Aggregate(in, Context{Center: []float64{1, math.NaN()}}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN center: %v, want ErrNonFinite", err)
	}
}
