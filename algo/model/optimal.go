package model

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/vec"
)

// ErrNotConverged reports that the optimiser stopped far from a stationary point.
var ErrNotConverged = errors.New("model: optimiser did not converge")

// maxNewtonDim bounds the dense Hessian Newton's method factorises (8·d² bytes); larger logistic
// regressions use L-BFGS instead.
const maxNewtonDim = 4096

// OptimalLoss returns f* = min_x (1/len(shards)) Σ_s Loss_s(x) and its minimiser. A shard listed k times
// (the same pointer) counts k times and is evaluated once.
//
// Logistic regression (up to 4096 features): Newton's method from zero with a Cholesky solve of the
// Hessian, backtracking while far from the optimum, until ‖∇f‖ < 1e-12; f* is then exact to rounding
// (about 1e-15), though its last bits may differ between machines because gonum's Cholesky kernels do.
// Anything else, the MLP in particular: L-BFGS (gonum/optimize) from Init(0). The MLP's objective is
// non-convex, so its f* is the best value L-BFGS found, a local optimum, not a certified global one.
func OptimalLoss(m Model, shards []*data.Dataset) (fstar float64, xstar []float64, err error) {
	obj, err := newObjective(m, shards)
	if err != nil {
		return 0, nil, err
	}
	if lr, ok := m.(*LogReg); ok && lr.Dim() <= maxNewtonDim {
		return newton(lr, obj)
	}
	return lbfgs(m, obj)
}

// objective is the average of a model's loss over shards, each distinct shard weighted by how often it
// is listed.
type objective struct {
	m       Model
	shards  []*data.Dataset // distinct, in order of first appearance
	weights []float64       // count/len(shards), summing to 1
	scratch []float64
}

func newObjective(m Model, shards []*data.Dataset) (*objective, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil model", ErrConfig)
	}
	if len(shards) == 0 {
		return nil, fmt.Errorf("%w: no shards", ErrData)
	}
	o := &objective{m: m, scratch: make([]float64, m.Dim())}
	counts := map[*data.Dataset]int{}
	for _, d := range shards {
		if counts[d] == 0 {
			if err := Check(m, d); err != nil {
				return nil, err
			}
			o.shards = append(o.shards, d)
		}
		counts[d]++
	}
	for _, d := range o.shards {
		o.weights = append(o.weights, float64(counts[d])/float64(len(shards)))
	}
	return o, nil
}

// value returns the objective at x.
func (o *objective) value(x []float64) float64 {
	var f float64
	for s, d := range o.shards {
		f = float64(o.weights[s]*o.m.Loss(x, d, nil)) + f
	}
	return f
}

// grad writes the objective's gradient at x into g and returns its value.
func (o *objective) grad(x, g []float64) float64 {
	if len(o.shards) == 1 { // weight exactly 1: skip the copy
		return o.m.Grad(x, o.shards[0], nil, g)
	}
	clear(g)
	var f float64
	for s, d := range o.shards {
		f = float64(o.weights[s]*o.m.Grad(x, d, nil, o.scratch)) + f
		vec.Axpy(o.weights[s], o.scratch, g)
	}
	return f
}

// Newton's method settings.
const (
	newtonGradTol  = 1e-12 // stop once ‖∇f‖ is below this
	newtonMaxIter  = 100
	newtonFullStep = 1e-10 // Newton decrement² below which the full step is taken without line search
)

func newton(m *LogReg, obj *objective) (float64, []float64, error) {
	dim := m.Dim()
	x := make([]float64, dim)
	g := make([]float64, dim)
	f := obj.grad(x, g)
	gn := vec.Norm(g)
	trial := make([]float64, dim)
	hess := make([]float64, dim*dim)
	for iter := 0; iter < newtonMaxIter && gn >= newtonGradTol; iter++ {
		p, err := newtonStep(m, obj, x, g, hess)
		if err != nil {
			return 0, nil, err
		}
		dec := vec.Dot(g, p) // squared Newton decrement, > 0 for a positive definite Hessian
		t := 1.0
		if dec > newtonFullStep {
			// Far from the optimum: halve the step until it decreases f enough (Armijo).
			for {
				copy(trial, x)
				vec.Axpy(-t, p, trial)
				if obj.value(trial) <= f-float64(0.25*t*dec) {
					break
				}
				if t /= 2; t < 1e-12 {
					return 0, nil, fmt.Errorf("%w: Newton line search failed at ‖∇f‖ = %g", ErrNotConverged, gn)
				}
			}
		}
		copy(trial, x)
		vec.Axpy(-t, p, trial)
		gTrial := make([]float64, dim)
		fTrial := obj.grad(trial, gTrial)
		gnTrial := vec.Norm(gTrial)
		if dec <= newtonFullStep && gnTrial >= gn {
			break // rounding floor: the gradient no longer shrinks
		}
		x, trial, g, f, gn = trial, x, gTrial, fTrial, gnTrial
	}
	if gn > 1e-8 || math.IsNaN(f) {
		return 0, nil, fmt.Errorf("%w: Newton stopped at ‖∇f‖ = %g", ErrNotConverged, gn)
	}
	return f, x, nil
}

// newtonStep returns H⁻¹g, H the objective's Hessian at x (hess is scratch of dim² entries).
func newtonStep(m *LogReg, obj *objective, x, g, hess []float64) ([]float64, error) {
	dim := m.Dim()
	clear(hess)
	for s, d := range obj.shards {
		m.addHessian(x, d, obj.weights[s], hess)
	}
	for j := range dim {
		hess[j*dim+j] += m.l2
	}
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(dim, hess)) {
		return nil, fmt.Errorf("%w: Hessian not positive definite (l2 = %v)", ErrNotConverged, m.l2)
	}
	var p mat.VecDense
	if err := chol.SolveVecTo(&p, mat.NewVecDense(dim, slices.Clone(g))); err != nil {
		return nil, fmt.Errorf("%w: Newton solve: %w", ErrNotConverged, err)
	}
	return p.RawVector().Data, nil
}

// L-BFGS settings. No time limit: the result must not depend on the machine's speed.
const (
	lbfgsMaxIter  = 5000
	lbfgsMaxEvals = 20000
	lbfgsGradTol  = 1e-10
)

func lbfgs(m Model, obj *objective) (float64, []float64, error) {
	dim := m.Dim()
	x0 := m.Init(0)
	// gonum asks for the value and the gradient at the same point in separate calls; one Grad call
	// provides both, remembered for the last point.
	lastX := make([]float64, dim)
	lastG := make([]float64, dim)
	lastF := math.NaN()
	bestX := slices.Clone(x0)
	bestF := math.Inf(1)
	eval := func(x []float64) {
		if !math.IsNaN(lastF) && slices.Equal(x, lastX) {
			return
		}
		copy(lastX, x)
		lastF = obj.grad(x, lastG)
		if lastF < bestF {
			bestF = lastF
			copy(bestX, x)
		}
	}
	problem := optimize.Problem{
		Func: func(x []float64) float64 { eval(x); return lastF },
		Grad: func(g, x []float64) { eval(x); copy(g, lastG) },
	}
	settings := &optimize.Settings{
		GradientThreshold: lbfgsGradTol,
		MajorIterations:   lbfgsMaxIter,
		FuncEvaluations:   lbfgsMaxEvals,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 200},
	}
	res, err := optimize.Minimize(problem, x0, settings, &optimize.LBFGS{Store: 20})
	if math.IsInf(bestF, 1) || math.IsNaN(bestF) {
		return 0, nil, fmt.Errorf("%w: L-BFGS found no finite value (%v)", ErrNotConverged, err)
	}
	if err != nil {
		// Line-search failures near a flat optimum are common; the best point seen is still valid.
		slog.Debug("L-BFGS stopped early; using the best point found", "model", m.Name(), "err", err, "f", bestF)
	} else {
		slog.Debug("L-BFGS finished", "model", m.Name(), "status", res.Status, "iterations", res.MajorIterations, "f", bestF)
	}
	return obj.value(bestX), bestX, nil
}
