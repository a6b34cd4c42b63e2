package model

import (
	"math"
	"sync"

	"github.com/byzpp/byzpp/algo/data"
)

// Scorer evaluates a model's loss over a whole data set, and its accuracy there, many times at
// different points: what a run does every few rounds to record f(x^k) and the held-out scores. Its
// results have exactly the bits of m.Loss(x, d, nil) and Accuracy(m, x, d).
//
// For logistic regression it does less work than Loss. A row's logit z = Σ_k x[j_k]·v_k is summed in
// column order from 0, so rows that start with the same (column, value) pairs share their partial sums:
// NewScorer arranges the rows in a trie of those pairs, and a score computes each trie node's partial
// sum once (node = parent + x[j]·v, the very operation sparseDot performs), the exponential once per
// distinct row, and then adds every row's loss terms in the order Loss adds them (chunks of chunkRows
// rows, row order inside a chunk, chunk results added in chunk order). On a9a scaled to unit rows
// (32,561 rows, 451,592 nonzeros, 4 distinct values) the trie has 157,829 nodes and 24,947 leaves:
// a third of the multiply-adds and three quarters of the exponentials of a pass. Other models, and data
// whose values are too varied for the trie's product table, fall back to Loss and Accuracy.
//
// A Scorer is safe for concurrent use. d must not change after NewScorer (Datasets from package data
// do not once normalised).
type Scorer struct {
	m  Model
	d  *data.Dataset
	lr *LogReg // nil: fall back to m.Loss and Accuracy

	values []float64 // distinct values of d; product table entry v·features + j is x[j]·values[v]
	// Trie nodes 1..len(parent)-1 in breadth-first order (parents first); node 0 is the root (z = 0).
	// prod[i] is the product-table entry node i adds to its parent's partial sum.
	parent []int32
	prod   []uint32
	nodes  []uint64 // parent<<32 | prod of nodes 1..: the loop's one load per node
	leaves []int32 // the distinct nodes where rows end
	rowTo  []int32 // index into leaves of each row
	keys   []int32 // 2·rowTo[r] + label of each row: where its loss terms are in scorerScratch.lin

	mu      sync.Mutex
	scratch *scorerScratch // one call's buffers; a concurrent call makes its own
}

type scorerScratch struct {
	table, partial, z, e []float64
	lin                  []float64 // per leaf u: the linear loss term for label 0 (2u) and 1 (2u+1)
}

// maxProducts bounds the product table (distinct values × features) of a Scorer; beyond it the data
// are too varied for the trie to pay and the Scorer falls back to Loss.
const maxProducts = 1 << 20

// NewScorer prepares the scoring of m on d.
func NewScorer(m Model, d *data.Dataset) *Scorer {
	s := &Scorer{m: m, d: d}
	lr, ok := m.(*LogReg)
	if !ok || d.Rows() == 0 || d.Features > lr.features {
		return s
	}
	for _, y := range d.Labels {
		if math.Float64bits(y) != 0 && y != 1 { // −0: the label formulas would need a third case
			return s
		}
	}
	valueID := map[uint64]uint32{}
	ids := make([]uint32, d.NNZ())
	lastBits, lastID := uint64(0), uint32(0)
	for k, v := range d.Values {
		b := math.Float64bits(v)
		if b == lastBits && k > 0 { // a row's values are often all the same (a9a's are)
			ids[k] = lastID
			continue
		}
		id, ok := valueID[b]
		if !ok {
			id = uint32(len(s.values))
			valueID[b] = id
			s.values = append(s.values, v)
		}
		ids[k], lastBits, lastID = id, b, id
	}
	features := lr.features
	if len(s.values)*features > maxProducts {
		s.values = nil
		return s
	}
	for k, j := range d.Indices {
		ids[k] = ids[k]*uint32(features) + uint32(j)
	}
	s.buildTrie(ids, len(s.values)*features)
	s.nodes = make([]uint64, len(s.parent))
	for i := 1; i < len(s.parent); i++ {
		s.nodes[i] = uint64(s.parent[i])<<32 | uint64(s.prod[i])
	}
	s.keys = make([]int32, d.Rows())
	for r, u := range s.rowTo {
		s.keys[r] = 2*u + int32(d.Labels[r])
	}
	s.lr = lr
	return s
}

// buildTrie builds the trie level by level in O(nnz): the rows still going deeper are kept grouped by
// the node they are at; within each group a row's next (column, value) either matches a child already
// made for this group (found through last, indexed by product entry) or makes a new one, and a counting
// sort by child regroups the rows for the next level.
func (s *Scorer) buildTrie(key []uint32, products int) {
	d := s.d
	rows := d.Rows()
	s.parent = []int32{-1}
	s.prod = []uint32{0}
	at := make([]int32, rows) // node each active row is at
	active := make([]int32, 0, rows)
	end := make([]int32, rows) // node each row ends at
	for r := range rows {
		if d.Indptr[r+1] > d.Indptr[r] {
			active = append(active, int32(r))
		}
	}
	type stamp struct{ parent, child int32 }
	last := make([]stamp, products)
	for i := range last {
		last[i].parent = -1
	}
	next := make([]int32, 0, rows)
	var count []int32
	for depth := 0; len(active) > 0; depth++ {
		first := int32(len(s.parent))
		for _, r := range active {
			p := at[r]
			k := key[d.Indptr[r]+depth]
			st := &last[k]
			if st.parent != p {
				st.parent, st.child = p, int32(len(s.parent))
				s.parent = append(s.parent, p)
				s.prod = append(s.prod, k)
			}
			at[r] = st.child
		}
		// Regroup by child (stable), dropping the rows that end here.
		count = append(count[:0], make([]int32, int(int32(len(s.parent))-first)+1)...)
		for _, r := range active {
			if d.Indptr[r]+depth+1 == d.Indptr[r+1] {
				end[r] = at[r]
				continue
			}
			count[at[r]-first+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		next = next[:count[len(count)-1]]
		for _, r := range active {
			if d.Indptr[r]+depth+1 == d.Indptr[r+1] {
				continue
			}
			c := at[r] - first
			next[count[c]] = r
			count[c]++
		}
		active, next = next, active
	}
	leafOf := make([]int32, len(s.parent))
	for i := range leafOf {
		leafOf[i] = -1
	}
	s.rowTo = make([]int32, rows)
	for r, n := range end {
		if leafOf[n] < 0 {
			leafOf[n] = int32(len(s.leaves))
			s.leaves = append(s.leaves, n)
		}
		s.rowTo[r] = leafOf[n]
	}
}

// getScratch returns buffers for one call and a function that gives them back.
func (s *Scorer) getScratch() (*scorerScratch, func()) {
	if s.mu.TryLock() {
		if s.scratch == nil {
			s.scratch = s.newScratch()
		}
		return s.scratch, s.mu.Unlock
	}
	return s.newScratch(), func() {}
}

func (s *Scorer) newScratch() *scorerScratch {
	return &scorerScratch{
		table:   make([]float64, len(s.values)*s.lr.features),
		partial: make([]float64, len(s.parent)),
		z:       make([]float64, len(s.leaves)),
		e:       make([]float64, len(s.leaves)),
		lin:     make([]float64, 2*len(s.leaves)),
	}
}

// logits fills sc.z with the logit of every distinct row and sc.e with e^−|z|.
func (s *Scorer) logits(x []float64, sc *scorerScratch) {
	checkDims(s.m, x, nil, false)
	features := s.lr.features
	for v, val := range s.values {
		t := sc.table[v*features : (v+1)*features]
		for j := range t {
			t[j] = x[j] * val
		}
	}
	partial, table, nodes := sc.partial, sc.table, s.nodes
	partial[0] = 0
	nodes = nodes[:len(partial)]
	for i := 1; i < len(partial); i++ {
		nd := nodes[i]
		partial[i] = table[uint32(nd)] + partial[nd>>32]
	}
	for u, n := range s.leaves {
		z := partial[n]
		sc.z[u] = z
		sc.e[u] = -math.Abs(z)
	}
	expInto(sc.e, sc.e)
	// The loss terms of logisticFromExp for either label, once per distinct row.
	for u, z := range sc.z {
		neg := uint64(int64(math.Float64bits(z)) >> 63)
		pos := math.Float64frombits(math.Float64bits(z) &^ neg) // max(z, 0)
		sc.lin[2*u] = pos - float64(0.0*z)
		sc.lin[2*u+1] = pos - float64(1.0*z)
		sc.e[u] = 1 + sc.e[u] // u = 1 + e^−|z|
	}
}

// Loss returns m.Loss(x, d, nil), bit for bit.
func (s *Scorer) Loss(x []float64) float64 {
	if s.lr == nil {
		return s.m.Loss(x, s.d, nil)
	}
	sc, done := s.getScratch()
	defer done()
	s.logits(x, sc)
	return s.loss(x, sc)
}

// Score returns m.Loss(x, d, nil) and Accuracy(m, x, d), bit for bit.
func (s *Scorer) Score(x []float64) (loss, accuracy float64) {
	if s.lr == nil {
		return s.m.Loss(x, s.d, nil), Accuracy(s.m, x, s.d)
	}
	sc, done := s.getScratch()
	defer done()
	s.logits(x, sc)
	correct := 0
	z := sc.z
	for _, k := range s.keys {
		if (z[k>>1] > 0) == (k&1 == 1) { // predicted 1 exactly when the label is 1
			correct++
		}
	}
	return s.loss(x, sc), float64(correct) / float64(s.d.Rows())
}

// loss adds the rows' loss terms exactly as pass and passRows do: per chunk of chunkRows rows a linear
// sum and a logSum in row order, chunk totals added in chunk order. The chunks are independent chains,
// so they advance side by side, a row of each at a time.
func (s *Scorer) loss(x []float64, sc *scorerScratch) float64 {
	n := s.d.Rows()
	chunks := (n + chunkRows - 1) / chunkRows
	type acc struct {
		linear float64
		logs   logSum
	}
	var fixed [16]acc
	accs := fixed[:0]
	if chunks > len(fixed) {
		accs = make([]acc, 0, chunks)
	}
	for range chunks {
		accs = append(accs, acc{logs: newLogSum()})
	}
	keys, lin, us := s.keys[:n], sc.lin, sc.e
	for i := range chunkRows {
		for c := range accs {
			r := c*chunkRows + i
			if r >= n {
				break
			}
			k := keys[r]
			a := &accs[c]
			a.linear += lin[k]
			a.logs.add(us[k>>1])
		}
	}
	var sum float64
	for c := range accs {
		part := accs[c].linear + accs[c].logs.value()
		if c == 0 {
			sum = part
		} else {
			sum += part
		}
	}
	return meanLoss(x, s.lr.l2, sum, n)
}
