package agg

import (
	"math"

	"github.com/byzpp/byzpp/algo/vec"
)

// Defaults of the authors' code (SamuelHorvath/VR_Byzantine) for RFA.
const (
	defaultGMIters = 8
	defaultGMNu    = 0.1
)

// geoMedian approximates the geometric median argmin_z Σ‖z − v_i‖ (RFA, Pillutla et al.) by smoothed
// Weiszfeld iterations from z_0 = 0: z ← Σ w_i v_i / Σ w_i with w_i = 1/max(ν, ‖z − v_i‖). The floor ν
// keeps a weight finite when z lands on an input. An input so far away that its squared distance
// overflows gets weight 0, which is the limit of the formula anyway.
type geoMedian struct {
	iters int
	nu    float64
}

func (g geoMedian) Name() string {
	if g.iters == defaultGMIters && g.nu == defaultGMNu {
		return "gm"
	}
	return "gm:" + formatOption("iters", float64(g.iters)) + "," + formatOption("nu", g.nu)
}

func (g geoMedian) Aggregate(inputs [][]float64, _ Context) ([]float64, error) {
	dim, err := CheckInputs(inputs)
	if err != nil {
		return nil, err
	}
	z := make([]float64, dim)
	next := make([]float64, dim)
	for t := 0; t < g.iters; t++ {
		vec.Zero(next)
		var total float64
		for _, v := range inputs {
			w := 1 / math.Max(g.nu, math.Sqrt(vec.SqDist(z, v)))
			total += w
			vec.Axpy(w, v, next)
		}
		if !(total > 0) || math.IsInf(total, 0) {
			break // every input infinitely far: no update is defined, keep z
		}
		vec.Scale(1/total, next)
		z, next = next, z
	}
	return checkOutput(g.Name(), z)
}
