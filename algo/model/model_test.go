package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/rng"
)

// testModels returns both models sized for randomDataset(…, features = 7).
func testModels() []Model {
	return []Model{NewLogReg(7, 0.01), NewMLP(7, 5, 0.01)}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		features int
		hidden   int
		l2       float64
		wantDim  int
		wantErr  bool
	}{
		{"logreg", 123, 0, 0.01, 123, false},
		{" LogReg ", 5, 99, 0, 5, false}, // hidden ignored
		{"mlp", 123, 16, 0.01, 123*16 + 33, false},
		{"MLP", 1, 1, 0, 4, false},
		{"svm", 5, 0, 0.01, 0, true},
		{"", 5, 0, 0.01, 0, true},
		{"logreg", 0, 0, 0.01, 0, true},
		{"logreg", MaxFeatures + 1, 0, 0.01, 0, true},
		{"logreg", 5, 0, -1, 0, true},
		{"logreg", 5, 0, math.NaN(), 0, true},
		{"logreg", 5, 0, math.Inf(1), 0, true},
		{"mlp", 5, 0, 0.01, 0, true},
		{"mlp", 5, -3, 0.01, 0, true},
		{"mlp", MaxFeatures, 1 << 20, 0.01, 0, true}, // too many parameters
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d/%d/%v", tc.name, tc.features, tc.hidden, tc.l2), func(t *testing.T) {
			m, err := New(tc.name, tc.features, tc.hidden, tc.l2)
			if tc.wantErr {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("got %v, want ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Dim() != tc.wantDim {
				t.Errorf("Dim() = %d, want %d", m.Dim(), tc.wantDim)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	d := randomDataset(1, 10, 7, 0.5)
	if err := Check(NewLogReg(7, 0), d); err != nil {
		t.Fatal(err)
	}
	if err := Check(NewLogReg(9, 0), d); err != nil {
		t.Errorf("fewer data features than the model takes should be fine: %v", err)
	}
	if err := Check(NewMLP(6, 2, 0), d); !errors.Is(err, ErrData) {
		t.Errorf("more features than inputs: %v", err)
	}
	if err := Check(NewLogReg(7, 0), nil); !errors.Is(err, ErrData) {
		t.Errorf("nil dataset: %v", err)
	}
	bad := randomDataset(1, 10, 7, 0.5)
	bad.Labels[3] = 2
	if err := Check(NewLogReg(7, 0), bad); !errors.Is(err, ErrData) || !errors.Is(err, data.ErrInvalid) {
		t.Errorf("invalid dataset: %v", err)
	}
}

// TestGradMatchesFiniteDifferences compares Grad with central differences of Loss at random points.
func TestGradMatchesFiniteDifferences(t *testing.T) {
	d := randomDataset(2, 40, 7, 0.6)
	for _, m := range testModels() {
		for seed := range uint64(3) {
			x := randomPoint(seed, m.Dim(), 0.8)
			g := make([]float64, m.Dim())
			m.Grad(x, d, nil, g)
			fd := make([]float64, m.Dim())
			const h = 1e-5
			for i := range x {
				xi := x[i]
				x[i] = xi + h
				fp := m.Loss(x, d, nil)
				x[i] = xi - h
				fm := m.Loss(x, d, nil)
				x[i] = xi
				fd[i] = (fp - fm) / (2 * h)
			}
			if e := relErr(g, fd); e > 1e-6 {
				t.Errorf("%s seed %d: gradient vs finite differences: relative error %g", m.Name(), seed, e)
			}
		}
	}
}

// TestMinibatchMatchesBruteForce checks Grad over 32 sampled rows against the per-row definitions.
func TestMinibatchMatchesBruteForce(t *testing.T) {
	d := randomDataset(3, 300, 7, 0.5)
	rows := rng.Sample(rng.New(4, 9, rng.Minibatch, 2), d.Rows(), 32)
	for _, m := range testModels() {
		x := randomPoint(5, m.Dim(), 1)
		row := func(r int) (float64, []float64) { return bruteLogReg(x, d, r) }
		const l2 = 0.01 // both test models
		if mlp, ok := m.(*MLP); ok {
			row = func(r int) (float64, []float64) { return bruteMLP(mlp, x, d, r) }
		}
		wantLoss, wantGrad := bruteMean(l2, x, rows, row)
		g := make([]float64, m.Dim())
		loss := m.Grad(x, d, rows, g)
		if e := relErr(g, wantGrad); e > 1e-13 {
			t.Errorf("%s: minibatch gradient relative error %g", m.Name(), e)
		}
		if math.Abs(loss-wantLoss) > 1e-14*wantLoss {
			t.Errorf("%s: minibatch loss %.17g, want %.17g", m.Name(), loss, wantLoss)
		}
		// The whole data set, too.
		all := make([]int, d.Rows())
		for i := range all {
			all[i] = i
		}
		wantLoss, wantGrad = bruteMean(l2, x, all, row)
		loss = m.Grad(x, d, nil, g)
		if e := relErr(g, wantGrad); e > 1e-13 || math.Abs(loss-wantLoss) > 1e-14*wantLoss {
			t.Errorf("%s: full gradient relative error %g, loss %.17g want %.17g", m.Name(), e, loss, wantLoss)
		}
	}
}

func TestMinibatchA9AMatchesBruteForce(t *testing.T) {
	d := normalizedA9A(t)
	m := NewLogReg(d.Features, 0.01)
	x := benchPoint(m.Dim())
	for round := range uint64(5) {
		rows := rng.Sample(rng.New(11, round, rng.Minibatch, 3), d.Rows(), 32)
		wantLoss, wantGrad := bruteMean(0.01, x, rows, func(r int) (float64, []float64) { return bruteLogReg(x, d, r) })
		g := make([]float64, m.Dim())
		loss := m.Grad(x, d, rows, g)
		if e := relErr(g, wantGrad); e > 1e-13 || math.Abs(loss-wantLoss) > 1e-14*wantLoss {
			t.Errorf("round %d: gradient relative error %g, loss %.17g want %.17g", round, e, loss, wantLoss)
		}
	}
}

// TestCallsAgree checks the bit-level contracts between the entry points: Grad returns exactly Loss,
// rows == nil is exactly every row in order, and the result does not depend on the grad buffer's
// previous contents.
func TestCallsAgree(t *testing.T) {
	d := randomDataset(6, 57, 7, 0.4) // not a multiple of the block size
	all := make([]int, d.Rows())
	for i := range all {
		all[i] = i
	}
	for _, m := range testModels() {
		x := randomPoint(7, m.Dim(), 1)
		g1 := make([]float64, m.Dim())
		g2 := make([]float64, m.Dim())
		for i := range g2 {
			g2[i] = math.NaN()
		}
		l1 := m.Grad(x, d, nil, g1)
		l2 := m.Grad(x, d, all, g2)
		if l1 != l2 || !slices.Equal(g1, g2) {
			t.Errorf("%s: rows == nil differs from all rows", m.Name())
		}
		if lo := m.Loss(x, d, nil); lo != l1 {
			t.Errorf("%s: Loss %v != Grad's loss %v", m.Name(), lo, l1)
		}
		// Empty minibatch: the penalty alone.
		var sq float64
		for _, v := range x {
			sq += v * v
		}
		if got := m.Loss(x, d, []int{}); math.Abs(got-0.005*sq) > 1e-15*sq {
			t.Errorf("%s: empty rows loss %v, want penalty %v", m.Name(), got, 0.005*sq)
		}
		m.Grad(x, d, []int{}, g1)
		for i := range g1 {
			if g1[i] != float64(0.01*x[i]) {
				t.Fatalf("%s: empty rows gradient[%d] = %v", m.Name(), i, g1[i])
			}
		}
	}
}

func TestHugeMarginsStayFinite(t *testing.T) {
	d := randomDataset(8, 20, 7, 0.9)
	for _, m := range testModels() {
		x := randomPoint(9, m.Dim(), 1e4)
		g := make([]float64, m.Dim())
		loss := m.Grad(x, d, nil, g)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			t.Fatalf("%s: loss %v", m.Name(), loss)
		}
		for _, v := range g {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: gradient has %v", m.Name(), v)
			}
		}
	}
}

func TestInit(t *testing.T) {
	lr := NewLogReg(7, 0.01)
	for _, v := range lr.Init(3) {
		if v != 0 {
			t.Fatal("logistic regression starts at zero")
		}
	}
	m := NewMLP(7, 5, 0.01)
	a, b, c := m.Init(1), m.Init(1), m.Init(2)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Fatal("MLP Init must depend on the seed and only on it")
	}
	w1, b1, w2, b2 := m.params(a)
	if slices.ContainsFunc(b1, func(v float64) bool { return v != 0 }) || *b2 != 0 {
		t.Error("biases should start at zero")
	}
	if slices.Contains(w1, 0) || slices.Contains(w2, 0) {
		t.Error("weights should be random")
	}
}

func TestDimensionMismatchPanics(t *testing.T) {
	d := randomDataset(1, 5, 7, 0.5)
	for _, m := range testModels() {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic for a short x", m.Name())
				}
			}()
			m.Loss(make([]float64, m.Dim()-1), d, nil)
		}()
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic for a short grad", m.Name())
				}
			}()
			m.Grad(make([]float64, m.Dim()), d, nil, make([]float64, 1))
		}()
	}
}

// digest returns a hex SHA-256 of a loss and a gradient's bits.
func digest(loss float64, g []float64) string {
	h := sha256.New()
	var buf [8]byte
	for _, v := range append([]float64{loss}, g...) {
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
		h.Write(buf[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestGoldenBits pins the exact bits of full a9a gradients (logistic regression and MLP, both in
// chunks of chunkRows rows, whatever GOMAXPROCS is) and of an MLP gradient over a small subset (one
// chunk). Every machine must produce these; a change here means peers on different versions would
// disagree. Checked on amd64, amd64 with GOAMD64=v3, 386 and arm64 (under qemu-user).
func TestGoldenBits(t *testing.T) {
	d := normalizedA9A(t)
	lr := NewLogReg(d.Features, 0.01)
	g := make([]float64, lr.Dim())
	loss := lr.Grad(benchPoint(lr.Dim()), d, nil, g)
	const wantLR = "8346f7523ba0eb789ad17fa32e5c88a68f988f5863c0a29b4aabf9e04a09b316"
	if got := digest(loss, g); got != wantLR {
		t.Errorf("logreg a9a digest %s, want %s (loss %.17g)", got, wantLR, loss)
	}
	mlpFull := NewMLP(d.Features, 4, 0.01)
	gf := make([]float64, mlpFull.Dim())
	loss = mlpFull.Grad(mlpFull.Init(5), d, nil, gf)
	const wantMLPFull = "7e84300bbc9d07972742b4e8aa8b621ecaf44b8ff5416d490f950ea4e1e70cf2"
	if got := digest(loss, gf); got != wantMLPFull {
		t.Errorf("mlp a9a digest %s, want %s (loss %.17g)", got, wantMLPFull, loss)
	}
	sub := d.Subset([]int{0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987})
	mlp := NewMLP(d.Features, 8, 0.01)
	gm := make([]float64, mlp.Dim())
	loss = mlp.Grad(mlp.Init(4), sub, nil, gm)
	const wantMLP = "f5c23f92e94d64e54b743636c783eff6f24cf6a2848c168a5bd02d976701b530"
	if got := digest(loss, gm); got != wantMLP {
		t.Errorf("mlp digest %s, want %s (loss %.17g)", got, wantMLP, loss)
	}
}
