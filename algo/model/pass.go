package model

import (
	"math"

	"github.com/byzpp/byzpp/algo/data"
)

// block is how many rows pass handles per stage. Independent rows side by side let the CPU overlap
// their dot products and exponentials, which a row-at-a-time loop serialises.
const block = 16

// pass is logistic regression's loss and gradient over the given rows of d (all when rows is nil): it
// returns the sum of their log-losses at x and their number; when grad is non-nil it overwrites grad
// with Σ_i (σ(a_iᵀx) − y_i)·a_i. Passes of more than chunkRows rows are split into chunks run in
// parallel and added in chunk order (chunkedPass), which fixes the bits whatever the number of cores.
func pass(x []float64, d *data.Dataset, rows []int, grad []float64) (float64, int) {
	n := rowCount(d, rows)
	if n <= chunkRows { // one chunk, as chunkedPass would do, without allocating its closure
		return passRows(x, d, rows, 0, n, grad), n
	}
	sum := chunkedPass(n, grad, func(lo, hi int, g []float64) float64 {
		return passRows(x, d, rows, lo, hi, g)
	})
	return sum, n
}

// passRows is logistic regression's hot loop, single-threaded. It visits rows from..to−1 of the row list
// (rowAt(rows, i)) and returns the sum of their log-losses at x; when grad is non-nil it overwrites grad
// with Σ_i (σ(a_iᵀx) − y_i)·a_i.
//
// Rows go by blocks of 16 in three stages: dot products, exponentials and logistic terms, then the
// scatter into the gradient while the block's rows are still in cache. Each stage is a plain loop whose
// elements are independent, which the CPU runs side by side.
//
// Every sum runs in the order a naive loop would use (row by row, column by column), so the result is
// bit-identical to the straightforward implementation (tests compare them). Bounds checks stay: padding
// x to a power of two and masking the columns removes them, but measured slower on a9a (the checks are
// predicted branches, and the padded copies cost more than they save). Dual accumulators and
// overlapping the stages of consecutive blocks were also tried and were slower.
func passRows(x []float64, d *data.Dataset, rows []int, from, to int, grad []float64) float64 {
	clear(grad)
	indptr, indices, values, labels := d.Indptr, d.Indices, d.Values, d.Labels
	var (
		z, e, coef [block]float64
		at         [block]int
		linear     float64
		logs       = newLogSum()
	)
	for start := from; start < to; start += block {
		cnt := min(block, to-start)
		for b := range cnt {
			r := rowAt(rows, start+b)
			at[b] = r
			lo, hi := indptr[r], indptr[r+1]
			z[b] = sparseDot(x, indices[lo:hi], values[lo:hi])
		}
		for b := range cnt {
			e[b] = -math.Abs(z[b])
		}
		expInto(e[:cnt], e[:cnt])
		for b := range cnt {
			y := labels[at[b]]
			sigma, lin, u := logisticFromExp(z[b], y, e[b])
			linear += lin
			logs.add(u)
			coef[b] = sigma - y
		}
		if grad == nil {
			continue
		}
		for b := range cnt {
			r := at[b]
			lo, hi := indptr[r], indptr[r+1]
			idx, val := indices[lo:hi], values[lo:hi]
			val = val[:len(idx)]
			c := coef[b]
			for k, j := range idx {
				grad[j] = float64(c*val[k]) + grad[j]
			}
		}
	}
	return linear + logs.value()
}

// sparseDot returns Σ_k x[idx[k]]·val[k], summed in index order.
func sparseDot(x []float64, idx []int32, val []float64) float64 {
	val = val[:len(idx)]
	var s float64
	for k, j := range idx {
		s = float64(x[j]*val[k]) + s
	}
	return s
}
