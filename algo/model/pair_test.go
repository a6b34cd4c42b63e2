package model

import (
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// TestGradPairMatchesGrad: GradPair leaves exactly Grad's bits at both points, for minibatches of
// several sizes (blocks full and partial), the whole data set, and extreme points.
func TestGradPairMatchesGrad(t *testing.T) {
	d := normalizedA9A(t)
	m := NewLogReg(d.Features, 0.01)
	for trial := range 40 {
		xa := randomPoint(uint64(2*trial), m.Dim(), []float64{0, 0.1, 3, 300}[trial%4])
		xb := randomPoint(uint64(2*trial+1), m.Dim(), 1)
		var rows []int
		switch trial % 5 {
		case 0:
			rows = nil // the whole data set: two Grad calls
		case 1:
			rows = []int{}
		default:
			rows = rng.Sample(rng.New(uint64(trial), 0, rng.Minibatch, 0), d.Rows(), []int{32, 17, 100}[trial%3])
		}
		ga, gb := make([]float64, m.Dim()), make([]float64, m.Dim())
		wa, wb := make([]float64, m.Dim()), make([]float64, m.Dim())
		for i := range ga {
			ga[i], gb[i] = 7, -7 // GradPair must overwrite
		}
		m.GradPair(xa, xb, d, rows, ga, gb)
		m.Grad(xa, d, rows, wa)
		m.Grad(xb, d, rows, wb)
		for j := range wa {
			if math.Float64bits(ga[j]) != math.Float64bits(wa[j]) || math.Float64bits(gb[j]) != math.Float64bits(wb[j]) {
				t.Fatalf("trial %d coordinate %d: GradPair %v %v, Grad %v %v", trial, j, ga[j], gb[j], wa[j], wb[j])
			}
		}
	}
}

func BenchmarkGradPairMinibatch32A9A(b *testing.B) {
	d := normalizedA9A(b)
	m := NewLogReg(d.Features, 0.01)
	xa, xb := benchPoint(d.Features), randomPoint(1, d.Features, 1)
	ga, gb := make([]float64, d.Features), make([]float64, d.Features)
	r := rng.New(1, 0, rng.Minibatch, 0)
	b.Run("pair", func(b *testing.B) {
		for b.Loop() {
			rows := rng.Sample(r, d.Rows(), 32)
			m.GradPair(xa, xb, d, rows, ga, gb)
		}
	})
	b.Run("two", func(b *testing.B) {
		for b.Loop() {
			rows := rng.Sample(r, d.Rows(), 32)
			m.Grad(xa, d, rows, ga)
			m.Grad(xb, d, rows, gb)
		}
	})
}

// TestGradPairPackedMatchesGrad: the packed rows give Grad's bits; data that do not fit are not packed.
func TestGradPairPackedMatchesGrad(t *testing.T) {
	d := normalizedA9A(t)
	p := Pack(d)
	if p == nil || p.Dataset() != d {
		t.Fatal("normalised a9a not packed")
	}
	m := NewLogReg(d.Features, 0.01)
	for trial := range 40 {
		xa := randomPoint(uint64(2*trial), m.Dim(), []float64{0, 0.1, 3, 300}[trial%4])
		xb := randomPoint(uint64(2*trial+1), m.Dim(), 1)
		var rows []int
		switch trial % 5 {
		case 0:
			rows = nil
		case 1:
			rows = []int{}
		default:
			rows = rng.Sample(rng.New(uint64(trial), 0, rng.Minibatch, 0), d.Rows(), []int{32, 17, 100}[trial%3])
		}
		ga, gb := make([]float64, m.Dim()), make([]float64, m.Dim())
		wa, wb := make([]float64, m.Dim()), make([]float64, m.Dim())
		m.GradPairPacked(xa, xb, p, rows, ga, gb)
		m.Grad(xa, d, rows, wa)
		m.Grad(xb, d, rows, wb)
		for j := range wa {
			if math.Float64bits(ga[j]) != math.Float64bits(wa[j]) || math.Float64bits(gb[j]) != math.Float64bits(wb[j]) {
				t.Fatalf("trial %d coordinate %d: GradPairPacked %v %v, Grad %v %v", trial, j, ga[j], gb[j], wa[j], wb[j])
			}
		}
	}
	if Pack(randomDataset(1, 50, 10, 0.5)) != nil {
		t.Error("rows with different values packed")
	}
	if Pack(randomDataset(1, 5, 300, 0.01)) != nil {
		t.Error("300 features packed")
	}
}

func BenchmarkGradPairPackedMinibatch32A9A(b *testing.B) {
	d := normalizedA9A(b)
	p := Pack(d)
	m := NewLogReg(d.Features, 0.01)
	xa, xb := benchPoint(d.Features), randomPoint(1, d.Features, 1)
	ga, gb := make([]float64, d.Features), make([]float64, d.Features)
	r := rng.New(1, 0, rng.Minibatch, 0)
	var rows []int
	for b.Loop() {
		rows = rng.SampleInto(rows, r, d.Rows(), 32)
		m.GradPairPacked(xa, xb, p, rows, ga, gb)
	}
}
