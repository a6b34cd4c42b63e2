package model

import (
	"math"

	"github.com/byzpp/byzpp/algo/data"
)

// addHessian adds weight·(1/n) Σ_i σ'(a_iᵀx)·a_i a_iᵀ, the data part of the Hessian of Loss over every
// row of d, into the upper triangle of the dim×dim row-major matrix h. The penalty's l2·I is left to the
// caller, who adds it once however many shards it combines.
//
// σ'(z) = σ(z)(1 − σ(z)) is computed as e/(1 + e)² with e = e^−|z|, which keeps its relative accuracy
// where σ is within rounding of 0 or 1.
func (m *LogReg) addHessian(x []float64, d *data.Dataset, weight float64, h []float64) {
	n := d.Rows()
	if n == 0 {
		return
	}
	dim := m.features
	scale := weight / float64(n)
	for r := range n {
		lo, hi := d.Indptr[r], d.Indptr[r+1]
		idx, val := d.Indices[lo:hi], d.Values[lo:hi]
		e := expDet(-math.Abs(sparseDot(x, idx, val)))
		u := 1 + e
		w := float64(scale*e) / float64(u*u)
		for p, jp := range idx {
			wp := float64(w * val[p])
			row := h[int(jp)*dim : int(jp)*dim+dim]
			for q := p; q < len(idx); q++ {
				row[idx[q]] = float64(wp*val[q]) + row[idx[q]]
			}
		}
	}
}
