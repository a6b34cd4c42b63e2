package model

import (
	"math"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/rng"
)

// naivePass is passRows over a whole row list written the obvious way: one row at a time, no blocks, no padding, no masks. The
// optimised kernel must match it bit for bit.
func naivePass(x []float64, d *data.Dataset, rows []int, grad []float64) (float64, int) {
	if grad != nil {
		clear(grad)
	}
	n := rowCount(d, rows)
	var linear float64
	logs := newLogSum()
	for i := range n {
		r := rowAt(rows, i)
		lo, hi := d.Indptr[r], d.Indptr[r+1]
		z := sparseDot(x, d.Indices[lo:hi], d.Values[lo:hi])
		sigma, lin, u := logistic(z, d.Labels[r])
		linear += lin
		logs.add(u)
		if grad != nil {
			c := sigma - d.Labels[r]
			for k := lo; k < hi; k++ {
				j := d.Indices[k]
				grad[j] = float64(c*d.Values[k]) + grad[j]
			}
		}
	}
	return linear + logs.value(), n
}

func TestPassMatchesNaive(t *testing.T) {
	a9a := normalizedA9A(t)
	cases := []struct {
		name string
		d    *data.Dataset
		dim  int
		rows []int
	}{
		{"a9a full", a9a, a9a.Features, nil},
		{"a9a minibatch", a9a, a9a.Features, rng.Sample(rng.New(1, 2, rng.Minibatch, 3), a9a.Rows(), 32)},
		{"a9a unsorted repeats", a9a, a9a.Features, []int{5, 3, 5, 32560, 0, 17}},
		{"random 7", randomDataset(41, 99, 7, 0.5), 7, nil},
		{"random power of two", randomDataset(42, 50, 16, 0.3), 16, nil},
		{"random wider model", randomDataset(43, 50, 5, 0.6), 9, nil},
		{"one feature", randomDataset(44, 20, 1, 0.7), 1, nil},
		{"empty rows", randomDataset(45, 20, 7, 0.5), 7, []int{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := make([]float64, tc.dim)
			r := rng.New(46, 0, rng.Init, 0)
			for j := range x {
				x[j] = 6*rng.Float64(r) - 3
			}
			g1 := make([]float64, tc.dim)
			g2 := make([]float64, tc.dim)
			for j := range g1 {
				g1[j] = math.NaN() // pass must overwrite, not accumulate
			}
			n1 := rowCount(tc.d, tc.rows)
			l1 := passRows(x, tc.d, tc.rows, 0, n1, g1)
			l2, n2 := naivePass(x, tc.d, tc.rows, g2)
			if n1 != n2 || math.Float64bits(l1) != math.Float64bits(l2) || !slices.Equal(g1, g2) {
				t.Fatalf("pass = %v (%d rows), naive = %v (%d rows); gradients equal: %v", l1, n1, l2, n2, slices.Equal(g1, g2))
			}
			if l3 := passRows(x, tc.d, tc.rows, 0, n1, nil); math.Float64bits(l3) != math.Float64bits(l1) {
				t.Fatalf("loss without gradient %v != %v", l3, l1)
			}
		})
	}
}

func TestPassPanicsOnColumnBeyondModel(t *testing.T) {
	d := randomDataset(47, 10, 9, 0.9)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for data wider than the model")
		}
	}()
	NewLogReg(7, 0.01).Loss(make([]float64, 7), d, nil)
}
