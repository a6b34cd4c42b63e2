package agg

import (
	"fmt"

	"github.com/byzpp/byzpp/algo/vec"
)

// Defaults of the authors' code for centered clipping.
const (
	defaultCClipTau   = 10
	defaultCClipIters = 3
)

// centeredClip is centered clipping (Karimireddy, He, Jaggi 2021): starting from v = Context.Center (the
// zero vector if nil), repeat v ← v + (1/N) Σ clip_τ(v_i − v). The start must be agreed state, such as
// the previous round's aggregate, so every peer computes the same result.
type centeredClip struct {
	tau   float64
	iters int
}

func (c centeredClip) Name() string {
	if c.tau == defaultCClipTau && c.iters == defaultCClipIters {
		return "cclip"
	}
	return "cclip:" + formatOption("tau", c.tau) + "," + formatOption("iters", float64(c.iters))
}

func (c centeredClip) Aggregate(inputs [][]float64, ctx Context) ([]float64, error) {
	dim, err := CheckInputs(inputs)
	if err != nil {
		return nil, err
	}
	v := make([]float64, dim)
	if ctx.Center != nil {
		if len(ctx.Center) != dim {
			return nil, fmt.Errorf("%w: center has length %d, inputs %d", ErrDimension, len(ctx.Center), dim)
		}
		if !vec.AllFinite(ctx.Center) {
			return nil, fmt.Errorf("%w: center has a NaN or infinite entry", ErrNonFinite)
		}
		copy(v, ctx.Center)
	}
	diff := make([]float64, dim)
	sum := make([]float64, dim)
	step := 1 / float64(len(inputs))
	for t := 0; t < c.iters; t++ {
		vec.Zero(sum)
		for _, x := range inputs {
			vec.Sub(diff, x, v)
			Clip(diff, c.tau)
			vec.Add(sum, sum, diff)
		}
		vec.Axpy(step, sum, v)
	}
	return checkOutput(c.Name(), v)
}
