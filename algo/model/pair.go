package model

import (
	"math"
	"sync/atomic"

	"github.com/byzpp/byzpp/algo/data"
)

// PairGrader is implemented by models that compute the gradients at two points over the same rows in
// one pass: a Byz-VR-MARINA-PP member's minibatch gradient difference ∇f_i(x^{k+1}) − ∇f_i(x^k).
// GradPair(xa, xb, d, rows, ga, gb) leaves in ga and gb exactly what Grad(xa, d, rows, ga) and
// Grad(xb, d, rows, gb) would (the losses are not computed).
type PairGrader interface {
	GradPair(xa, xb []float64, d *data.Dataset, rows []int, ga, gb []float64)
}

// GradPair computes Grad at xa and at xb over the same rows. Each row's columns and values are read
// once for both points, and the two points' dot products and exponentials run side by side; every sum
// of each gradient keeps Grad's order, so the bits are Grad's. Passes of more than one chunk are two
// Grad calls.
func (m *LogReg) GradPair(xa, xb []float64, d *data.Dataset, rows []int, ga, gb []float64) {
	checkDims(m, xa, ga, true)
	checkDims(m, xb, gb, true)
	n := rowCount(d, rows)
	if n > chunkRows {
		m.Grad(xa, d, rows, ga)
		m.Grad(xb, d, rows, gb)
		return
	}
	passRowsPair(xa, xb, d, rows, n, ga, gb)
	meanGrad(xa, ga, m.l2, n)
	meanGrad(xb, gb, m.l2, n)
}

// passRowsPair is passRows over rows 0..n−1 of the row list for two points at once, gradients only.
func passRowsPair(xa, xb []float64, d *data.Dataset, rows []int, n int, ga, gb []float64) {
	clear(ga)
	clear(gb)
	indptr, indices, values, labels := d.Indptr, d.Indices, d.Values, d.Labels
	var (
		z, ca [2 * block]float64 // [0, cnt): point a; [cnt, 2·cnt): point b
		e     [2 * block]float64
		at    [block]int
	)
	var touched uint64
	for start := 0; start < n; start += block {
		cnt := min(block, n-start)
		// Minibatch rows are scattered over the data set, so each one starts with cache misses. Touch
		// every row of the block first: the loads are independent, so the misses overlap, and the dot
		// products below find the rows in cache.
		for b := range cnt {
			r := rowAt(rows, start+b)
			at[b] = r
			lo, hi := indptr[r], indptr[r+1]
			if hi > lo {
				touched += uint64(indices[lo]) + uint64(indices[hi-1]) + math.Float64bits(values[lo]) + math.Float64bits(values[hi-1])
			}
		}
		for b := range cnt {
			r := at[b]
			lo, hi := indptr[r], indptr[r+1]
			z[b], z[cnt+b] = sparseDot2(xa, xb, indices[lo:hi], values[lo:hi])
		}
		for b := range 2 * cnt {
			e[b] = -math.Abs(z[b])
		}
		expInto(e[:2*cnt], e[:2*cnt])
		for b := range cnt {
			y := labels[at[b]]
			sa, _, _ := logisticFromExp(z[b], y, e[b])
			sb, _, _ := logisticFromExp(z[cnt+b], y, e[cnt+b])
			ca[b], ca[cnt+b] = sa-y, sb-y
		}
		for b := range cnt {
			r := at[b]
			lo, hi := indptr[r], indptr[r+1]
			idx, val := indices[lo:hi], values[lo:hi]
			val = val[:len(idx)]
			a, c := ca[b], ca[cnt+b]
			for k, j := range idx {
				v := val[k]
				ga[j] = float64(a*v) + ga[j]
				gb[j] = float64(c*v) + gb[j]
			}
		}
	}
	touchSink.Store(touched)
}

// touchSink keeps the touching loads of passRowsPair from being optimised away; atomic, as peers in
// one process (tests) compute gradients on several goroutines at once.
var touchSink atomic.Uint64

// sparseDot2 is sparseDot at two points.
func sparseDot2(xa, xb []float64, idx []int32, val []float64) (float64, float64) {
	val = val[:len(idx)]
	var sa, sb float64
	for k, j := range idx {
		v := val[k]
		sa = float64(xa[j]*v) + sa
		sb = float64(xb[j]*v) + sb
	}
	return sa, sb
}
