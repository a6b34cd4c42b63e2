package model

import (
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/rng"
)

// withProcs runs f with runtime.GOMAXPROCS(procs) and restores the previous setting.
func withProcs(procs int, f func()) {
	old := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(old)
	f()
}

// naiveChunked is the definition chunkedPass promises for logistic regression: naivePass over each
// chunk of chunkRows rows, then chunk results added in chunk order, the first copied.
func naiveChunked(x []float64, d *data.Dataset, rows []int, grad []float64) float64 {
	n := rowCount(d, rows)
	if n <= chunkRows {
		loss, _ := naivePass(x, d, rows, grad)
		return loss
	}
	part := make([]float64, len(grad))
	var loss float64
	for c := 0; c*chunkRows < n; c++ {
		var chunk []int
		for i := c * chunkRows; i < min(n, (c+1)*chunkRows); i++ {
			chunk = append(chunk, rowAt(rows, i))
		}
		l, _ := naivePass(x, d, chunk, part)
		if c == 0 {
			loss = l
			copy(grad, part)
			continue
		}
		loss += l
		for j := range grad {
			grad[j] += part[j]
		}
	}
	return loss
}

func TestChunkedPassMatchesDefinition(t *testing.T) {
	a9a := normalizedA9A(t)
	repeats := make([]int, 9000)
	r := rng.New(7, 0, rng.Minibatch, 0)
	for i := range repeats {
		repeats[i] = rng.IntN(r, a9a.Rows())
	}
	cases := []struct {
		name string
		d    *data.Dataset
		rows []int
	}{
		{"a9a full", a9a, nil},
		{"a9a 9000 rows with repeats", a9a, repeats},
		{"a9a exactly one chunk", a9a, repeats[:chunkRows]},
		{"a9a one row past a chunk", a9a, repeats[:chunkRows+1]},
		{"random 3 chunks", randomDataset(51, 2*chunkRows+7, 9, 0.4), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dim := tc.d.Features
			x := randomPoint(52, dim, 0.7)
			want := make([]float64, dim)
			wantLoss := naiveChunked(x, tc.d, tc.rows, want)
			for _, procs := range []int{1, 2, 3, 8} {
				for _, limit := range []int{chunkScratchLimit, 2 * dim} { // 2·dim: windows of max(procs, 2) chunks
					got := make([]float64, dim)
					for j := range got {
						got[j] = math.NaN() // must be overwritten
					}
					var loss, lossOnly float64
					var n int
					withProcs(procs, func() {
						saved := chunkScratchLimit
						chunkScratchLimit = limit
						defer func() { chunkScratchLimit = saved }()
						loss, n = pass(x, tc.d, tc.rows, got)
						lossOnly, _ = pass(x, tc.d, tc.rows, nil)
					})
					if n != rowCount(tc.d, tc.rows) {
						t.Fatalf("procs %d: %d rows, want %d", procs, n, rowCount(tc.d, tc.rows))
					}
					if math.Float64bits(loss) != math.Float64bits(wantLoss) || math.Float64bits(lossOnly) != math.Float64bits(wantLoss) {
						t.Fatalf("procs %d limit %d: loss %v (alone %v), want %v", procs, limit, loss, lossOnly, wantLoss)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("procs %d limit %d: gradient differs from the chunked definition", procs, limit)
					}
				}
			}
		})
	}
}

// TestFullGradientSameBitsForAnyGOMAXPROCS runs full a9a gradients and losses of both models with one
// and with two (and more) cores and requires identical bits: the chunking alone fixes the order.
func TestFullGradientSameBitsForAnyGOMAXPROCS(t *testing.T) {
	d := normalizedA9A(t)
	for _, m := range []Model{NewLogReg(d.Features, 0.01), NewMLP(d.Features, 4, 0.01)} {
		x := benchPoint(m.Dim())
		if _, ok := m.(*MLP); ok {
			x = m.Init(3)
		}
		var ref string
		for _, procs := range []int{1, 2, 4} {
			g := make([]float64, m.Dim())
			var loss, lossOnly float64
			withProcs(procs, func() {
				loss = m.Grad(x, d, nil, g)
				lossOnly = m.Loss(x, d, nil)
			})
			if math.Float64bits(loss) != math.Float64bits(lossOnly) {
				t.Errorf("%s procs %d: Grad's loss %v != Loss %v", m.Name(), procs, loss, lossOnly)
			}
			got := digest(loss, g)
			if procs == 1 {
				ref = got
			} else if got != ref {
				t.Errorf("%s: GOMAXPROCS %d digest %s, GOMAXPROCS 1 gave %s", m.Name(), procs, got, ref)
			}
		}
	}
}

// TestChunkedPanicReachesCaller: a column beyond the model in a large pass panics in a worker
// goroutine; the panic must come back to the caller (who may recover) rather than kill the process.
func TestChunkedPanicReachesCaller(t *testing.T) {
	d := randomDataset(53, 3*chunkRows, 9, 0.9)
	for _, m := range []Model{NewLogReg(7, 0.01), NewMLP(7, 3, 0.01)} {
		for _, procs := range []int{1, 2} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s procs %d: no panic for data wider than the model", m.Name(), procs)
					}
				}()
				withProcs(procs, func() { m.Grad(make([]float64, m.Dim()), d, nil, make([]float64, m.Dim())) })
			}()
		}
	}
	// The pool must still hand out usable buffers afterwards.
	ok := randomDataset(54, 3*chunkRows, 7, 0.5)
	m := NewLogReg(7, 0.01)
	g := make([]float64, 7)
	withProcs(2, func() { m.Grad(make([]float64, 7), ok, nil, g) })
	want := make([]float64, 7)
	naiveChunked(make([]float64, 7), ok, nil, want)
	for j := range want {
		want[j] /= float64(ok.Rows())
	}
	if !slices.Equal(g, want) {
		t.Errorf("gradient after a recovered panic %v, want %v", g, want)
	}
}

// TestMLPChunkedMatchesKernelFold checks the MLP's large pass against its kernel run chunk by chunk on
// one goroutine and folded in chunk order.
func TestMLPChunkedMatchesKernelFold(t *testing.T) {
	d := randomDataset(55, 2*chunkRows+100, 6, 0.5)
	m := NewMLP(6, 3, 0)
	x := m.Init(9)
	want := make([]float64, m.Dim())
	part := make([]float64, m.Dim())
	var sum float64
	for c := range 3 {
		l := m.passRows(x, d, nil, c*chunkRows, min(d.Rows(), (c+1)*chunkRows), part)
		if c == 0 {
			sum = l
			copy(want, part)
			continue
		}
		sum += l
		for j := range want {
			want[j] += part[j]
		}
	}
	for j := range want {
		want[j] /= float64(d.Rows())
	}
	wantLoss := sum / float64(d.Rows())
	got := make([]float64, m.Dim())
	var loss float64
	withProcs(2, func() { loss = m.Grad(x, d, nil, got) })
	if math.Float64bits(loss) != math.Float64bits(wantLoss) || !slices.Equal(got, want) {
		t.Errorf("loss %v want %v; gradients equal: %v", loss, wantLoss, slices.Equal(got, want))
	}
}
