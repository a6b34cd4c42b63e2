package model

import (
	"fmt"
	"math"

	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/rng"
)

// MLP is a one-hidden-layer network for binary classification: h = tanh(W1ᵀa + b1), output
// p = σ(w2ᵀh + b2), the same log-loss as LogReg, and the penalty (l2/2)‖x‖² on every parameter.
// The problem is non-convex.
//
// Parameter layout in x (F features, H hidden units, Dim() = F·H + 2H + 1):
//
//	x[j·H + k]      for j < F, k < H: W1, weight from feature j to hidden unit k (feature-major, so a
//	                sparse row touches contiguous blocks of H weights)
//	x[F·H + k]      b1, hidden biases
//	x[F·H + H + k]  w2, output weights
//	x[F·H + 2H]     b2, output bias
//
// The gradient is derived by hand (backpropagation through the layers above) and checked against
// finite differences in the tests.
type MLP struct {
	features, hidden int
	l2               float64
}

func mlpDim(features, hidden int) int {
	// Compare by division: features·hidden can overflow a 32-bit int before it could be compared.
	if features < 1 || hidden > MaxDim || features > MaxDim || hidden > MaxDim/features {
		return math.MaxInt
	}
	return features*hidden + 2*hidden + 1
}

// NewMLP returns the network for features inputs and hidden tanh units with penalty l2. It panics on
// non-positive sizes or a negative or non-finite l2; use New for configuration from outside.
func NewMLP(features, hidden int, l2 float64) *MLP {
	if features < 1 || hidden < 1 || l2 < 0 || math.IsNaN(l2) || math.IsInf(l2, 0) {
		panic(fmt.Sprintf("model: NewMLP(%d, %d, %v)", features, hidden, l2))
	}
	return &MLP{features: features, hidden: hidden, l2: l2}
}

// Name returns "mlp".
func (m *MLP) Name() string { return "mlp" }

// Dim returns F·H + 2H + 1.
func (m *MLP) Dim() int { return mlpDim(m.features, m.hidden) }

// Spec returns the model's configuration.
func (m *MLP) Spec() Spec {
	return Spec{Name: m.Name(), Features: m.features, Hidden: m.hidden, L2: m.l2}
}

// Init returns Glorot-uniform weights (W1 uniform on ±√(6/(F+H)), w2 on ±√(6/(H+1))) and zero biases,
// drawn from rng.New(seed, 0, rng.Init, 0) in parameter order. Random weights break the symmetry
// between hidden units, which zero weights would never leave. Uniform rather than normal draws: a
// uniform needs only an exact integer-to-float conversion and a correctly rounded square root, so every
// platform gets the same bits, whereas normal draws go through math.Log and math.Cos, whose results
// depend on the CPU and on whether the compiler fused their multiply-adds.
func (m *MLP) Init(seed uint64) []float64 {
	r := rng.New(seed, 0, rng.Init, 0)
	x := make([]float64, m.Dim())
	w1, _, w2, _ := m.params(x)
	fill := func(w []float64, limit float64) {
		for i := range w {
			// The conversion keeps the compiler from fusing rng.Float64's inlined multiply into the
			// doubling (which it rewrites as an add).
			u := float64(rng.Float64(r))
			w[i] = float64(limit*(2*u)) - limit
		}
	}
	fill(w1, math.Sqrt(6/float64(m.features+m.hidden)))
	fill(w2, math.Sqrt(6/float64(m.hidden+1)))
	return x
}

// params splits x (or a gradient) into its blocks.
func (m *MLP) params(x []float64) (w1, b1, w2 []float64, b2 *float64) {
	fh, h := m.features*m.hidden, m.hidden
	// Capacities end with each block, so a column beyond the model panics instead of reading the next block.
	return x[:fh:fh], x[fh : fh+h : fh+h], x[fh+h : fh+2*h : fh+2*h], &x[fh+2*h]
}

// forward computes the hidden activations of row (idx, val) into act and returns the output logit.
func (m *MLP) forward(x []float64, idx []int32, val []float64, act []float64) float64 {
	w1, b1, w2, b2 := m.params(x)
	h := m.hidden
	copy(act, b1)
	val = val[:len(idx)]
	for k, j := range idx {
		a := val[k]
		w := w1[int(j)*h : int(j)*h+h]
		for u := range act {
			act[u] = float64(a*w[u]) + act[u]
		}
	}
	z := *b2
	for u, pre := range act {
		act[u] = tanhDet(pre)
		z = float64(w2[u]*act[u]) + z
	}
	return z
}

// Loss returns the mean log-loss over the given rows plus the penalty.
func (m *MLP) Loss(x []float64, d *data.Dataset, rows []int) float64 {
	checkDims(m, x, nil, false)
	n := rowCount(d, rows)
	if n <= chunkRows { // one chunk, as chunkedPass would do, without allocating its closure
		return meanLoss(x, m.l2, m.passRows(x, d, rows, 0, n, nil), n)
	}
	sum := chunkedPass(n, nil, func(lo, hi int, _ []float64) float64 {
		return m.passRows(x, d, rows, lo, hi, nil)
	})
	return meanLoss(x, m.l2, sum, n)
}

// Grad writes the gradient of Loss into grad and returns the loss. Passes of more than chunkRows rows
// run in chunks in parallel, added in chunk order (chunkedPass).
func (m *MLP) Grad(x []float64, d *data.Dataset, rows []int, grad []float64) float64 {
	checkDims(m, x, grad, true)
	n := rowCount(d, rows)
	var sum float64
	if n <= chunkRows { // one chunk, as chunkedPass would do, without allocating its closure
		sum = m.passRows(x, d, rows, 0, n, grad)
	} else {
		sum = chunkedPass(n, grad, func(lo, hi int, g []float64) float64 {
			return m.passRows(x, d, rows, lo, hi, g)
		})
	}
	meanGrad(x, grad, m.l2, n)
	return meanLoss(x, m.l2, sum, n)
}

// passRows visits rows from..to−1 of the row list (rowAt(rows, i)), single-threaded in naive order, and
// returns the sum of their log-losses; when grad is non-nil it overwrites grad with the sum of their
// gradients, by backpropagation per row:
// dz = σ(z) − y; ∂b2 += dz; ∂w2 += dz·h; δ = dz·w2 ⊙ (1 − h²); ∂b1 += δ; ∂W1[j,·] += a_j·δ.
func (m *MLP) passRows(x []float64, d *data.Dataset, rows []int, from, to int, grad []float64) float64 {
	h := m.hidden
	act := make([]float64, h)
	var delta, w2, gw1, gb1, gw2 []float64
	var gb2 *float64
	if grad != nil {
		clear(grad)
		_, _, w2, _ = m.params(x)
		gw1, gb1, gw2, gb2 = m.params(grad)
		delta = make([]float64, h)
	}
	var linear float64
	logs := newLogSum()
	for i := from; i < to; i++ {
		r := rowAt(rows, i)
		lo, hi := d.Indptr[r], d.Indptr[r+1]
		idx, val := d.Indices[lo:hi], d.Values[lo:hi]
		sigma, lin, u := logistic(m.forward(x, idx, val, act), d.Labels[r])
		linear += lin
		logs.add(u)
		if grad == nil {
			continue
		}
		dz := sigma - d.Labels[r]
		*gb2 += dz
		for u, hu := range act {
			gw2[u] = float64(dz*hu) + gw2[u]
			delta[u] = float64(float64(dz*w2[u]) * (1 - float64(hu*hu)))
			gb1[u] += delta[u]
		}
		val = val[:len(idx)]
		for k, j := range idx {
			a := val[k]
			g := gw1[int(j)*h : int(j)*h+h]
			for u, du := range delta {
				g[u] = float64(a*du) + g[u]
			}
		}
	}
	return linear + logs.value()
}
