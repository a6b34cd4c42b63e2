package model

import (
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/vec"
)

// TestOptimalLossA9A checks the Figure 1 optimum: a9a, unit-norm rows, labels {0, 1}, l2 = 0.01, no bias.
func TestOptimalLossA9A(t *testing.T) {
	d := normalizedA9A(t)
	m := NewLogReg(d.Features, 0.01)
	fstar, xstar, err := OptimalLoss(m, []*data.Dataset{d})
	if err != nil {
		t.Fatal(err)
	}
	const want = 0.487100159001288
	if math.Abs(fstar-want) > 1e-11 {
		t.Errorf("f* = %.17g, want %.15g ± 1e-11", fstar, want)
	}
	g := make([]float64, m.Dim())
	m.Grad(xstar, d, nil, g)
	if gn := vec.Norm(g); gn >= 1e-10 {
		t.Errorf("‖∇f(x*)‖ = %g", gn)
	}
	t.Logf("f* = %.17g, ‖∇f(x*)‖ = %g", fstar, vec.Norm(g))
}
