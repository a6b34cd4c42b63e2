package model

import (
	"math"

	"github.com/byzpp/byzpp/algo/data"
)

// classifier is a model that can score one row: the logit z of P(y = 1) = σ(z).
type classifier interface {
	logit(x []float64, idx []int32, val []float64, scratch []float64) float64
	scratchSize() int
}

// Accuracy returns the fraction of d's rows that m at x classifies correctly, predicting 1 when the
// logit is positive and 0 otherwise (so a tie, such as every row at logistic regression's x^0 = 0,
// predicts 0). It is deterministic: one goroutine, rows in order, each logit summed in column order
// with unfused multiply-adds, the count an integer. NaN for an empty data set, a model other than
// LogReg and MLP, or len(x) ≠ m.Dim() (it does not panic: accuracy is a report, not a protocol value).
// d must fit m (see Check).
func Accuracy(m Model, x []float64, d *data.Dataset) float64 {
	c, ok := m.(classifier)
	if !ok || d == nil || d.Rows() == 0 || len(x) != m.Dim() {
		return math.NaN()
	}
	scratch := make([]float64, c.scratchSize())
	correct := 0
	for r := range d.Rows() {
		lo, hi := d.Indptr[r], d.Indptr[r+1]
		z := c.logit(x, d.Indices[lo:hi], d.Values[lo:hi], scratch)
		predicted := 0.0
		if z > 0 {
			predicted = 1
		}
		if predicted == d.Labels[r] {
			correct++
		}
	}
	return float64(correct) / float64(d.Rows())
}

func (m *LogReg) logit(x []float64, idx []int32, val []float64, _ []float64) float64 {
	return sparseDot(x, idx, val)
}

func (m *LogReg) scratchSize() int { return 0 }

func (m *MLP) logit(x []float64, idx []int32, val []float64, act []float64) float64 {
	return m.forward(x, idx, val, act)
}

func (m *MLP) scratchSize() int { return m.hidden }
