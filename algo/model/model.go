package model

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/vec"
)

// Model is a differentiable objective over a data set: the mean per-row loss plus an L2 penalty.
//
// Implementations are safe for concurrent use (they hold no scratch state). A call over more than 4096
// rows splits them into fixed chunks run on up to GOMAXPROCS goroutines, with bits independent of the
// number of cores; smaller calls run on the caller's goroutine. Callers must pass len(x) == Dim(), len(grad) == Dim(), a dataset whose Features do not
// exceed the model's (see Check) and row indices within the dataset; these are programming errors and
// panic like an out-of-range slice index.
type Model interface {
	Name() string
	Dim() int
	// Loss returns the mean loss over the given rows of d (every row when rows == nil) at x, the L2
	// penalty (l2/2)‖x‖² included. An empty non-nil rows slice gives the penalty alone.
	Loss(x []float64, d *data.Dataset, rows []int) float64
	// Grad writes ∇Loss into grad (len Dim(), overwritten) and returns the loss at x.
	Grad(x []float64, d *data.Dataset, rows []int, grad []float64) float64
	// Init returns the initial point x^0 (zeros for logistic regression; small seeded random weights
	// for the MLP from rng.New(seed, 0, rng.Init, 0)).
	Init(seed uint64) []float64
}

// Spec identifies a model's configuration: two models with equal Specs compute the same function. It
// keys the cache of optimal losses.
type Spec struct {
	Name     string
	Features int
	Hidden   int // 0 for logistic regression
	L2       float64
}

// Limits on configurations accepted by New, far above anything trained here.
const (
	MaxFeatures = 1 << 24
	MaxDim      = 1 << 28
)

// ErrConfig reports an invalid model configuration.
var ErrConfig = errors.New("model: invalid configuration")

// New builds the model called name ("logreg" or "mlp", case-insensitive) for data with the given number
// of features. hidden is the MLP's hidden width and is ignored by logreg.
func New(name string, features, hidden int, l2 float64) (Model, error) {
	if features < 1 || features > MaxFeatures {
		return nil, fmt.Errorf("%w: %d features (want 1..%d)", ErrConfig, features, MaxFeatures)
	}
	if l2 < 0 || math.IsNaN(l2) || math.IsInf(l2, 0) {
		return nil, fmt.Errorf("%w: l2 %v (want a finite value ≥ 0)", ErrConfig, l2)
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "logreg":
		return NewLogReg(features, l2), nil
	case "mlp":
		if hidden < 1 || mlpDim(features, hidden) > MaxDim {
			return nil, fmt.Errorf("%w: mlp with %d features and %d hidden units (want hidden ≥ 1, at most %d parameters)",
				ErrConfig, features, hidden, MaxDim)
		}
		return NewMLP(features, hidden, l2), nil
	}
	return nil, fmt.Errorf("%w: unknown model %q (want logreg or mlp)", ErrConfig, name)
}

// ErrData reports a dataset that does not fit a model.
var ErrData = errors.New("model: dataset does not fit the model")

// Check reports whether d can be used with m: a consistent dataset (data.Dataset.Validate) with no more
// features than the model's input. Run it once on data from outside before calling Loss or Grad.
func Check(m Model, d *data.Dataset) error {
	if d == nil {
		return fmt.Errorf("%w: nil dataset", ErrData)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrData, err)
	}
	if features := inputs(m); features >= 0 && d.Features > features {
		return fmt.Errorf("%w: %s has %d features, %s takes %d", ErrData, d.Name, d.Features, m.Name(), features)
	}
	return nil
}

// inputs returns the number of input features of m, or −1 when m is not one of ours.
func inputs(m Model) int {
	if s, ok := m.(interface{ Spec() Spec }); ok {
		return s.Spec().Features
	}
	return -1
}

// rowAt returns the i-th row to visit: i itself when rows is nil.
func rowAt(rows []int, i int) int {
	if rows == nil {
		return i
	}
	return rows[i]
}

// rowCount returns how many rows a call visits.
func rowCount(d *data.Dataset, rows []int) int {
	if rows == nil {
		return d.Rows()
	}
	return len(rows)
}

// checkDims panics with a clear message when the caller's vectors do not match the model.
func checkDims(m Model, x, grad []float64, withGrad bool) {
	if len(x) != m.Dim() || (withGrad && len(grad) != m.Dim()) {
		panic(fmt.Sprintf("model: %s of dimension %d called with len(x) = %d, len(grad) = %d",
			m.Name(), m.Dim(), len(x), len(grad)))
	}
}

// meanLoss turns the sum of n row losses into their mean plus the L2 penalty ½·l2·‖x‖² (the mean of no
// rows is 0).
func meanLoss(x []float64, l2, sum float64, n int) float64 {
	mean := 0.0
	if n > 0 {
		mean = sum / float64(n)
	}
	return float64(0.5*l2*vec.SqNorm(x)) + mean
}

// meanGrad turns the sum of n row gradients held in grad into their mean plus the penalty's gradient
// l2·x.
func meanGrad(x, grad []float64, l2 float64, n int) {
	if n > 0 {
		fn := float64(n)
		if n&(n-1) == 0 {
			// A power of two (a minibatch of 32): its reciprocal is exact, so g·(1/n) is g/n correctly
			// rounded, the same bits, and a multiplication costs a fraction of a division.
			inv := 1 / fn
			for j := range grad {
				grad[j] *= inv
			}
		} else {
			for j := range grad {
				grad[j] /= fn
			}
		}
	}
	vec.Axpy(l2, x, grad)
}
