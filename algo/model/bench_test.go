package model

import (
	"sync"
	"testing"

	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/rng"
)

// Measure with: go test -run=^$ -bench=A9A -benchtime=200x ./algo/model/
// Requirement: BenchmarkGradFullA9A costs at most 2× BenchmarkStreamNonzerosA9A.

var (
	a9aOnce sync.Once
	a9aData *data.Dataset
	a9aErr  error
)

// normalizedA9A returns the embedded a9a with rows scaled to unit norm (the Figure 1 data), loaded once.
func normalizedA9A(tb testing.TB) *data.Dataset {
	tb.Helper()
	a9aOnce.Do(func() {
		a9aData, a9aErr = data.Load("a9a", data.ReadOptions{})
		if a9aErr == nil {
			a9aData.NormalizeRows()
		}
	})
	if a9aErr != nil {
		tb.Fatal(a9aErr)
	}
	return a9aData
}

// benchPoint returns a fixed point with margins a_iᵀx of realistic size (zero would make every
// exponential trivial).
func benchPoint(dim int) []float64 {
	r := rng.New(1, 0, rng.Init, 0)
	x := make([]float64, dim)
	for j := range x {
		x[j] = 4*rng.Float64(r) - 2 // uniform on [−2, 2); exact on every platform, unlike rng.Normal
	}
	return x
}

var sink float64

// BenchmarkStreamNonzerosA9A is the floor: read every nonzero's column and value once and sum them.
func BenchmarkStreamNonzerosA9A(b *testing.B) {
	d := normalizedA9A(b)
	b.SetBytes(int64(d.NNZ()) * 12)
	for b.Loop() {
		var si int64
		var sv float64
		idx, val := d.Indices, d.Values[:len(d.Indices)]
		for k, j := range idx {
			si += int64(j)
			sv += val[k]
		}
		sink = float64(si) + sv
	}
}

func BenchmarkGradFullA9A(b *testing.B) {
	d := normalizedA9A(b)
	m := NewLogReg(d.Features, 0.01)
	x, grad := benchPoint(m.Dim()), make([]float64, m.Dim())
	b.SetBytes(int64(d.NNZ()) * 12)
	for b.Loop() {
		sink = m.Grad(x, d, nil, grad)
	}
}

func BenchmarkLossFullA9A(b *testing.B) {
	d := normalizedA9A(b)
	m := NewLogReg(d.Features, 0.01)
	x := benchPoint(m.Dim())
	b.SetBytes(int64(d.NNZ()) * 12)
	for b.Loop() {
		sink = m.Loss(x, d, nil)
	}
}

func BenchmarkGradMinibatch32A9A(b *testing.B) {
	d := normalizedA9A(b)
	m := NewLogReg(d.Features, 0.01)
	x, grad := benchPoint(m.Dim()), make([]float64, m.Dim())
	rows := rng.Sample(rng.New(1, 0, rng.Minibatch, 0), d.Rows(), 32)
	for b.Loop() {
		sink = m.Grad(x, d, rows, grad)
	}
}

// BenchmarkMLPGradFullA9A: a full MLP gradient (16 hidden units) on a9a, for scale.
func BenchmarkMLPGradFullA9A(b *testing.B) {
	d := normalizedA9A(b)
	m := NewMLP(d.Features, 16, 0.01)
	x, grad := m.Init(1), make([]float64, m.Dim())
	for b.Loop() {
		sink = m.Grad(x, d, nil, grad)
	}
}
