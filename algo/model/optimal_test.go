package model

import (
	"errors"
	"math"
	"slices"
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

// plainModel hides LogReg's Spec method and concrete type, so OptimalLoss treats it as an unknown
// model (L-BFGS) and FStar cannot cache it.
type plainModel struct{ m *LogReg }

func (p plainModel) Name() string { return "plain" }
func (p plainModel) Dim() int     { return p.m.Dim() }
func (p plainModel) Loss(x []float64, d *data.Dataset, rows []int) float64 {
	return p.m.Loss(x, d, rows)
}
func (p plainModel) Grad(x []float64, d *data.Dataset, rows []int, g []float64) float64 {
	return p.m.Grad(x, d, rows, g)
}
func (p plainModel) Init(seed uint64) []float64 { return p.m.Init(seed) }

// TestOptimalLossShards checks the objective over several shards: a repeated pointer counts each time,
// the result is stationary for the weighted average, and it is no worse than nearby points.
func TestOptimalLossShards(t *testing.T) {
	a := randomDataset(21, 80, 7, 0.5)
	b := randomDataset(22, 50, 7, 0.5)
	m := NewLogReg(7, 0.05)
	shards := []*data.Dataset{a, b, b}
	fstar, xstar, err := OptimalLoss(m, shards)
	if err != nil {
		t.Fatal(err)
	}
	ga, gb := make([]float64, 7), make([]float64, 7)
	fa, fb := m.Grad(xstar, a, nil, ga), m.Grad(xstar, b, nil, gb)
	if want := (fa + 2*fb) / 3; math.Abs(fstar-want) > 1e-15 {
		t.Errorf("f* = %.17g, (f_a + 2 f_b)/3 = %.17g", fstar, want)
	}
	avg := make([]float64, 7)
	for j := range avg {
		avg[j] = (ga[j] + 2*gb[j]) / 3
	}
	if gn := vec.Norm(avg); gn > 1e-12 {
		t.Errorf("gradient of the weighted objective at x*: %g", gn)
	}
	// A single shard is the same as a shard listed many times.
	f1, _, err1 := OptimalLoss(m, []*data.Dataset{a})
	f3, _, err3 := OptimalLoss(m, []*data.Dataset{a, a, a})
	if err1 != nil || err3 != nil || math.Abs(f1-f3) > 1e-15 {
		t.Errorf("f*(a) = %v, f*(a, a, a) = %v (%v, %v)", f1, f3, err1, err3)
	}
	// L-BFGS on the same problem (through a model OptimalLoss does not recognise) agrees with Newton.
	fl, _, err := OptimalLoss(plainModel{m}, shards)
	if err != nil {
		t.Fatal(err)
	}
	if fl < fstar-1e-15 || fl-fstar > 1e-10 {
		t.Errorf("L-BFGS f* = %.17g, Newton %.17g", fl, fstar)
	}
}

func TestOptimalLossMLP(t *testing.T) {
	d := randomDataset(23, 120, 7, 0.5)
	m := NewMLP(7, 4, 0.01)
	fstar, xstar, err := OptimalLoss(m, []*data.Dataset{d})
	if err != nil {
		t.Fatal(err)
	}
	g := make([]float64, m.Dim())
	f := m.Grad(xstar, d, nil, g)
	if f != fstar {
		t.Errorf("returned f* %v differs from Loss at x* %v", fstar, f)
	}
	if f0 := m.Loss(m.Init(0), d, nil); fstar >= f0 {
		t.Errorf("f* = %v is no better than the start %v", fstar, f0)
	}
	if gn := vec.Norm(g); gn > 1e-6 {
		t.Errorf("‖∇f(x*)‖ = %g: not a stationary point", gn)
	}
	for seed := range uint64(5) {
		y := slices.Clone(xstar)
		vec.Axpy(1e-3, randomPoint(seed, m.Dim(), 1), y)
		if fy := m.Loss(y, d, nil); fy < fstar {
			t.Errorf("a nearby point has lower loss %v < %v", fy, fstar)
		}
	}
}

func TestOptimalLossErrors(t *testing.T) {
	d := randomDataset(24, 10, 7, 0.5)
	bad := randomDataset(24, 10, 7, 0.5)
	bad.Values[0] = math.NaN()
	cases := []struct {
		name   string
		m      Model
		shards []*data.Dataset
		want   error
	}{
		{"nil model", nil, []*data.Dataset{d}, ErrConfig},
		{"no shards", NewLogReg(7, 0.01), nil, ErrData},
		{"nil shard", NewLogReg(7, 0.01), []*data.Dataset{d, nil}, ErrData},
		{"too many features", NewLogReg(5, 0.01), []*data.Dataset{d}, ErrData},
		{"invalid data", NewLogReg(7, 0.01), []*data.Dataset{bad}, ErrData},
		{"separable without l2", NewLogReg(7, 0), []*data.Dataset{separable()}, ErrNotConverged},
	}
	for _, tc := range cases {
		if _, _, err := OptimalLoss(tc.m, tc.shards); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// separable returns data that a linear model separates perfectly: without a penalty the loss has no
// minimiser (it decreases forever along the separating direction).
func separable() *data.Dataset {
	return &data.Dataset{
		Name: "separable", Features: 7,
		Indptr:  []int{0, 1, 2},
		Indices: []int32{0, 0},
		Values:  []float64{1, -1},
		Labels:  []float64{1, 0},
	}
}
