package model

import (
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/byzpp/byzpp/algo/data"
)

// block is how many rows pass handles per stage. Independent rows side by side let the CPU overlap
// their dot products and exponentials, which a row-at-a-time loop serialises.
const block = 16

// pass is logistic regression's hot loop. It visits the given rows of d (all when rows is nil) and
// returns the sum of their log-losses at x and their number; when grad is non-nil it overwrites grad
// with Σ_i (σ(a_iᵀx) − y_i)·a_i.
//
// Rows go by blocks of 16 in three stages: dot products, exponentials and logistic terms, then the
// scatter into the gradient while the block's rows are still in cache. Each stage is a plain loop
// whose elements are independent, which the CPU runs side by side.
//
// x and the gradient live in scratch slices padded to a power-of-two length P, and columns are masked
// with P − 1, so the compiler drops the bounds checks. The mask changes nothing for valid data: every
// row's last (largest) column is checked against len(x) first.
//
// Every sum runs in the order a naive loop would use (row by row, column by column), so the result is
// bit-identical to the straightforward implementation (tests compare them).
func pass(x []float64, d *data.Dataset, rows []int, grad []float64) (float64, int) {
	dim := len(x)
	size := 1 << bits.Len(uint(dim-1)) // smallest power of two ≥ dim
	scratch := getScratch(2 * size)
	defer putScratch(scratch)
	xs, gs := (*scratch)[:size:size], (*scratch)[size:2*size:2*size]
	copy(xs, x)
	clear(xs[dim:])
	clear(gs)

	indptr, indices, values, labels := d.Indptr, d.Indices, d.Values, d.Labels
	n := rowCount(d, rows)
	var (
		z, e, coef [block]float64
		at         [block]int
		linear     float64
		logs       = newLogSum()
	)
	for start := 0; start < n; start += block {
		cnt := min(block, n-start)
		for b := range cnt {
			r := rowAt(rows, start+b)
			at[b] = r
			lo, hi := indptr[r], indptr[r+1]
			if hi > lo && int(indices[hi-1]) >= dim {
				panic(fmt.Sprintf("model: %s row %d has column %d, model dimension %d (run model.Check on the data)",
					d.Name, r, indices[hi-1], dim))
			}
			z[b] = maskedDot(xs, indices[lo:hi], values[lo:hi])
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
			maskedScatter(gs, coef[b], indices[lo:hi], values[lo:hi])
		}
	}
	if grad != nil {
		copy(grad, gs[:dim])
	}
	return linear + logs.value(), n
}

// maskedDot returns Σ_k xs[idx[k] & (len(xs) − 1)]·val[k], summed in order; len(xs) must be a power of
// two. Unrolled by two, with one accumulator, so the sum is the same as a plain loop's.
func maskedDot(xs []float64, idx []int32, val []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	m := len(xs) - 1 // with len(xs) > 0 the compiler proves j & m < len(xs)
	val = val[:len(idx)]
	var s float64
	for len(idx) >= 2 && len(val) >= 2 {
		s = float64(xs[int(idx[0])&m]*val[0]) + s
		s = float64(xs[int(idx[1])&m]*val[1]) + s
		idx, val = idx[2:], val[2:]
	}
	if len(idx) > 0 && len(val) > 0 {
		s = float64(xs[int(idx[0])&m]*val[0]) + s
	}
	return s
}

// maskedScatter adds c·val[k] to gs[idx[k] & (len(gs) − 1)] for every k, in order; len(gs) must be a
// power of two.
func maskedScatter(gs []float64, c float64, idx []int32, val []float64) {
	if len(gs) == 0 {
		return
	}
	m := len(gs) - 1
	val = val[:len(idx)]
	for k, j := range idx {
		i := int(j) & m
		gs[i] = float64(c*val[k]) + gs[i]
	}
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

// scratchPool recycles pass's padded buffers: a minibatch gradient is a few microseconds, and a fresh
// allocation per call would be a noticeable share of it.
var scratchPool sync.Pool

func getScratch(n int) *[]float64 {
	if p, ok := scratchPool.Get().(*[]float64); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float64, n)
	return &s
}

func putScratch(p *[]float64) { scratchPool.Put(p) }
