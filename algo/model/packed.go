package model

import (
	"math"

	"github.com/byzpp/byzpp/algo/data"
)

// Packed holds a data set's rows in a layout made for the random access of minibatches: a byte per
// nonzero for its column and one value per row. It exists for data such as a9a scaled to unit rows,
// where every nonzero of a row has the same value; there it takes 1.1 MB where the Dataset's arrays
// take 5.7 MB, so a minibatch's scattered rows are found in cache far more often. Gradients computed
// from it are those computed from the Dataset, bit for bit (the same products and sums in the same
// order). It is read-only and safe for concurrent use; the Dataset must not change after Pack.
type Packed struct {
	d      *data.Dataset
	indptr []int32
	cols   []uint8
	val    []float64 // the value of every nonzero of each row
}

// Pack returns d packed, or nil when d does not fit the layout: more than 256 features, or a row
// whose nonzeros do not all have the same value.
func Pack(d *data.Dataset) *Packed {
	if d.Features > 256 || d.NNZ() > math.MaxInt32 {
		return nil
	}
	p := &Packed{d: d, indptr: make([]int32, d.Rows()+1), cols: make([]uint8, d.NNZ()), val: make([]float64, d.Rows())}
	for r := range d.Rows() {
		lo, hi := d.Indptr[r], d.Indptr[r+1]
		p.indptr[r+1] = int32(hi)
		if hi > lo {
			v := d.Values[lo]
			for _, w := range d.Values[lo:hi] {
				if math.Float64bits(w) != math.Float64bits(v) {
					return nil
				}
			}
			p.val[r] = v
		}
		for k := lo; k < hi; k++ {
			p.cols[k] = uint8(d.Indices[k])
		}
	}
	return p
}

// Dataset returns the data set p was packed from.
func (p *Packed) Dataset() *data.Dataset { return p.d }

// GradPairPacked is GradPair over p's data set, reading the rows from p: the same bits. Calls of more
// than one chunk of rows (or rows == nil) go to GradPair.
func (m *LogReg) GradPairPacked(xa, xb []float64, p *Packed, rows []int, ga, gb []float64) {
	checkDims(m, xa, ga, true)
	checkDims(m, xb, gb, true)
	if rows == nil || len(rows) > chunkRows || p.d.Features > m.features {
		m.GradPair(xa, xb, p.d, rows, ga, gb)
		return
	}
	n := len(rows)
	clear(ga)
	clear(gb)
	indptr, cols, vals, labels := p.indptr, p.cols, p.val, p.d.Labels
	xa, xb = xa[:m.features], xb[:m.features]
	var (
		z, ca [2 * block]float64 // [0, cnt): point a; [cnt, 2·cnt): point b
		e     [2 * block]float64
		at    [block]int
	)
	var touched uint64
	for start := 0; start < n; start += block {
		cnt := min(block, n-start)
		for b := range cnt { // overlap the rows' cache misses (see passRowsPair)
			r := rows[start+b]
			at[b] = r
			lo, hi := indptr[r], indptr[r+1]
			if hi > lo {
				touched += uint64(cols[lo]) + uint64(cols[hi-1]) + math.Float64bits(vals[r])
			}
		}
		for b := range cnt {
			r := at[b]
			v := vals[r]
			var sa, sb float64
			for _, j := range cols[indptr[r]:indptr[r+1]] {
				sa = float64(xa[j]*v) + sa
				sb = float64(xb[j]*v) + sb
			}
			z[b], z[cnt+b] = sa, sb
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
			v := vals[r]
			a, c := ca[b], ca[cnt+b]
			for _, j := range cols[indptr[r]:indptr[r+1]] {
				ga[j] = float64(a*v) + ga[j]
				gb[j] = float64(c*v) + gb[j]
			}
		}
	}
	touchSink.Store(touched)
	meanGrad(xa, ga, m.l2, n)
	meanGrad(xb, gb, m.l2, n)
}
