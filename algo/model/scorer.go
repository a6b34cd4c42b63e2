package model

import (
	"math"
	"sync"

	"github.com/byzpp/byzpp/algo/data"
)

// Scorer evaluates a model's loss over whole data sets, and its accuracy there, many times at
// different points: what a run does every few rounds to record f(x^k) and the held-out scores. Its
// results have exactly the bits of m.Loss(x, d, nil) and Accuracy(m, x, d) for each of its data sets.
//
// For logistic regression it does less work than Loss. A row's logit z = Σ_k x[j_k]·v_k is summed in
// column order from 0, so rows that start with the same (column, value) pairs share their partial sums:
// NewScorer arranges the rows of all its data sets in one trie of those pairs, and a score computes
// each trie node's partial sum once (node = parent + x[j]·v, the very operation sparseDot performs),
// the exponential once per distinct row, and then adds every row's loss terms in the order Loss adds
// them (chunks of chunkRows rows, row order inside a chunk, chunk results added in chunk order). On a9a
// scaled to unit rows (32,561 rows, 451,592 nonzeros, 4 distinct values) the trie has 157,829 nodes and
// 24,947 leaves: a third of the multiply-adds and three quarters of the exponentials of a pass; with
// a9a.t beside it, 212,947 nodes and 35,277 leaves for both. Other models, labels other than 0 and 1,
// and data whose values are too varied for the trie's product table fall back to Loss and Accuracy.
//
// A Scorer is safe for concurrent use. Its data sets must not change after NewScorer (Datasets from
// package data do not once normalised).
type Scorer struct {
	m  Model
	ds []*data.Dataset
	lr *LogReg // nil: fall back to m.Loss and Accuracy

	values []float64 // distinct values; product table entry v·features + j is x[j]·values[v]
	// Trie nodes 1..len(nodes)-1 in breadth-first order (parents first); node 0 is the root (z = 0).
	// nodes[i] = parent<<32 | product-table entry that node i adds to its parent's partial sum.
	nodes  []uint64
	leaves []int32 // the distinct nodes where rows end
	// keys[first[i]+r] = 2·(leaf of row r of data set i) + its label: where its loss terms are in
	// scorerScratch.lin.
	keys  []int32
	first []int

	mu   sync.Mutex
	free []*scorerScratch // buffers of calls done, for the next ones
}

type scorerScratch struct {
	table, partial, z, u []float64
	lin                  []float64 // per leaf l: the linear loss term for label 0 (2l) and 1 (2l+1)
}

// maxProducts bounds the product table (distinct values × features) of a Scorer; beyond it the data
// are too varied for the trie to pay and the Scorer falls back to Loss.
const maxProducts = 1 << 20

// NewScorer prepares the scoring of m on the data sets ds (at least one).
func NewScorer(m Model, ds ...*data.Dataset) *Scorer {
	s := &Scorer{m: m, ds: ds}
	lr, ok := m.(*LogReg)
	if !ok {
		return s
	}
	nnz, rows := 0, 0
	for _, d := range ds {
		if d.Rows() == 0 || d.Features > lr.features {
			return s
		}
		for _, y := range d.Labels {
			if math.Float64bits(y) != 0 && y != 1 { // −0: the label formulas would need a third case
				return s
			}
		}
		nnz += d.NNZ()
		rows += d.Rows()
	}
	// Every nonzero as its product-table entry, and the rows of all data sets one after the other.
	features := lr.features
	valueID := map[uint64]uint32{}
	key := make([]uint32, 0, nnz)
	indptr := make([]int, 1, rows+1)
	for _, d := range ds {
		lastBits, lastID := uint64(0), uint32(0)
		for k, v := range d.Values {
			b := math.Float64bits(v)
			id := lastID
			if b != lastBits || k == 0 { // a row's values are often all the same (a9a's are)
				var ok bool
				if id, ok = valueID[b]; !ok {
					id = uint32(len(s.values))
					valueID[b] = id
					s.values = append(s.values, v)
				}
				lastBits, lastID = b, id
			}
			key = append(key, id)
		}
		if len(s.values)*features > maxProducts {
			s.values = nil
			return s
		}
		base := len(indptr) - 1
		for k, j := range d.Indices {
			key[indptr[base]+k] = key[indptr[base]+k]*uint32(features) + uint32(j)
		}
		off := indptr[base]
		for _, p := range d.Indptr[1:] {
			indptr = append(indptr, off+p)
		}
	}
	rowTo := s.buildTrie(key, indptr, len(s.values)*features)
	s.keys = make([]int32, rows)
	r := 0
	for _, d := range ds {
		s.first = append(s.first, r)
		for _, y := range d.Labels {
			s.keys[r] = 2*rowTo[r] + int32(y)
			r++
		}
	}
	s.lr = lr
	return s
}

// buildTrie builds the trie of the rows indptr delimits in key, level by level in O(nnz), and returns
// the leaf of each row: the rows still going deeper are kept grouped by the node they are at; within
// each group a row's next entry either matches a child already made for this group (found through
// last, indexed by product entry) or makes a new one, and a counting sort by child regroups the rows
// for the next level.
func (s *Scorer) buildTrie(key []uint32, indptr []int, products int) []int32 {
	rows := len(indptr) - 1
	s.nodes = make([]uint64, 1, len(key)/2)
	at := make([]int32, rows) // node each active row is at
	active := make([]int32, 0, rows)
	end := make([]int32, rows) // node each row ends at
	for r := range rows {
		if indptr[r+1] > indptr[r] {
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
		first := int32(len(s.nodes))
		for _, r := range active {
			p := at[r]
			k := key[indptr[r]+depth]
			st := &last[k]
			if st.parent != p {
				st.parent, st.child = p, int32(len(s.nodes))
				s.nodes = append(s.nodes, uint64(p)<<32|uint64(k))
			}
			at[r] = st.child
		}
		// Regroup by child (stable), dropping the rows that end here.
		count = append(count[:0], make([]int32, int(int32(len(s.nodes))-first)+1)...)
		for _, r := range active {
			if indptr[r]+depth+1 == indptr[r+1] {
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
			if indptr[r]+depth+1 == indptr[r+1] {
				continue
			}
			c := at[r] - first
			next[count[c]] = r
			count[c]++
		}
		active, next = next, active
	}
	leafOf := make([]int32, len(s.nodes))
	for i := range leafOf {
		leafOf[i] = -1
	}
	rowTo := make([]int32, rows)
	for r, n := range end {
		if leafOf[n] < 0 {
			leafOf[n] = int32(len(s.leaves))
			s.leaves = append(s.leaves, n)
		}
		rowTo[r] = leafOf[n]
	}
	return rowTo
}

// getScratch returns buffers for one call and a function that gives them back: as many sets are
// made as calls ever run at once.
func (s *Scorer) getScratch() (*scorerScratch, func()) {
	s.mu.Lock()
	var sc *scorerScratch
	if n := len(s.free); n > 0 {
		sc, s.free = s.free[n-1], s.free[:n-1]
	}
	s.mu.Unlock()
	if sc == nil {
		sc = s.newScratch()
	}
	return sc, func() {
		s.mu.Lock()
		s.free = append(s.free, sc)
		s.mu.Unlock()
	}
}

func (s *Scorer) newScratch() *scorerScratch {
	return &scorerScratch{
		table:   make([]float64, len(s.values)*s.lr.features),
		partial: make([]float64, len(s.nodes)),
		z:       make([]float64, len(s.leaves)),
		u:       make([]float64, len(s.leaves)),
		lin:     make([]float64, 2*len(s.leaves)),
	}
}

// logits fills sc.z with the logit of every distinct row, sc.u with 1 + e^−|z| and sc.lin with the
// linear loss terms of either label.
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
	for l, n := range s.leaves {
		z := partial[n]
		sc.z[l] = z
		sc.u[l] = -math.Abs(z)
	}
	expInto(sc.u, sc.u)
	// The loss terms of logisticFromExp for either label, once per distinct row.
	for l, z := range sc.z {
		neg := uint64(int64(math.Float64bits(z)) >> 63)
		pos := math.Float64frombits(math.Float64bits(z) &^ neg) // max(z, 0)
		sc.lin[2*l] = pos - float64(0.0*z)
		sc.lin[2*l+1] = pos - float64(1.0*z)
		sc.u[l] = 1 + sc.u[l]
	}
}

// Loss returns m.Loss(x, ds[0], nil), bit for bit.
func (s *Scorer) Loss(x []float64) float64 {
	var loss [1]float64
	s.Scores(x, loss[:], nil)
	return loss[0]
}

// Score returns m.Loss(x, ds[0], nil) and Accuracy(m, x, ds[0]), bit for bit.
func (s *Scorer) Score(x []float64) (loss, accuracy float64) {
	var l, a [1]float64
	s.Scores(x, l[:], a[:])
	return l[0], a[0]
}

// Scores sets losses[i] = m.Loss(x, ds[i], nil) and accuracies[i] = Accuracy(m, x, ds[i]), bit for
// bit, for the data sets that fit in each slice (nil: none).
func (s *Scorer) Scores(x []float64, losses, accuracies []float64) {
	losses, accuracies = losses[:min(len(losses), len(s.ds))], accuracies[:min(len(accuracies), len(s.ds))]
	if s.lr == nil {
		for i := range losses {
			losses[i] = s.m.Loss(x, s.ds[i], nil)
		}
		for i := range accuracies {
			accuracies[i] = Accuracy(s.m, x, s.ds[i])
		}
		return
	}
	sc, done := s.getScratch()
	defer done()
	s.logits(x, sc)
	for i := range losses {
		losses[i] = s.loss(x, sc, i)
	}
	for i := range accuracies {
		correct := 0
		z := sc.z
		for _, k := range s.keys[s.first[i] : s.first[i]+s.ds[i].Rows()] {
			if (z[k>>1] > 0) == (k&1 == 1) { // predicted 1 exactly when the label is 1
				correct++
			}
		}
		accuracies[i] = float64(correct) / float64(s.ds[i].Rows())
	}
}

// loss adds data set i's loss terms exactly as pass and passRows do: per chunk of chunkRows rows a
// linear sum and a logSum in row order, chunk totals added in chunk order. The chunks are independent
// chains, so they advance side by side, a row of each at a time.
func (s *Scorer) loss(x []float64, sc *scorerScratch, i int) float64 {
	n := s.ds[i].Rows()
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
	keys, lin, us := s.keys[s.first[i]:s.first[i]+n], sc.lin, sc.u
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
