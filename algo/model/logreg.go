package model

import (
	"fmt"
	"math"

	"github.com/byzpp/byzpp/algo/data"
)

// LogReg is L2-regularised logistic regression without a bias term (the paper's Figure 1 objective):
//
//	f(x) = (1/n) Σ_i [ −y_i ln σ(a_iᵀx) − (1 − y_i) ln(1 − σ(a_iᵀx)) ] + (l2/2)‖x‖²,  y_i ∈ {0, 1}.
//
// Dim() == Features; x_j weighs column j.
type LogReg struct {
	features int
	l2       float64
}

// NewLogReg returns logistic regression over features columns with penalty l2. It panics on
// features < 1 or a negative or non-finite l2; use New for configuration from outside.
func NewLogReg(features int, l2 float64) *LogReg {
	if features < 1 || l2 < 0 || math.IsNaN(l2) || math.IsInf(l2, 0) {
		panic(fmt.Sprintf("model: NewLogReg(%d, %v)", features, l2))
	}
	return &LogReg{features: features, l2: l2}
}

// Name returns "logreg".
func (m *LogReg) Name() string { return "logreg" }

// Dim returns the number of features.
func (m *LogReg) Dim() int { return m.features }

// Spec returns the model's configuration.
func (m *LogReg) Spec() Spec { return Spec{Name: m.Name(), Features: m.features, L2: m.l2} }

// Init returns zeros, the paper's x^0; logistic regression needs no symmetry breaking.
func (m *LogReg) Init(uint64) []float64 { return make([]float64, m.features) }

// Loss returns f(x) over the given rows.
func (m *LogReg) Loss(x []float64, d *data.Dataset, rows []int) float64 {
	checkDims(m, x, nil, false)
	sum, n := pass(x, d, rows, nil)
	return meanLoss(x, m.l2, sum, n)
}

// Grad writes ∇f(x) over the given rows into grad and returns f(x).
func (m *LogReg) Grad(x []float64, d *data.Dataset, rows []int, grad []float64) float64 {
	checkDims(m, x, grad, true)
	sum, n := pass(x, d, rows, grad)
	meanGrad(x, grad, m.l2, n)
	return meanLoss(x, m.l2, sum, n)
}
