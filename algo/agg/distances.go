package agg

import (
	"runtime"
	"sync"
)

// distanceChunk is the number of coordinates of every input processed together, so that N chunks stay
// in cache while all pairs are accumulated over them.
const distanceChunk = 512

// parallelWork is the number of multiply-adds (pairs × dimension) above which the pairwise distances are
// spread over goroutines; below it the goroutine start-up costs more than it saves.
const parallelWork = 1 << 22

// pairwiseSqDist returns the N×N matrix (row-major) of ‖v_i − v_j‖².
//
// Each distance is accumulated in coordinate order by s = float64(d*d) + s, exactly as vec.SqDist does,
// only interleaved over chunks of coordinates for cache locality; so every entry is bit-identical to
// vec.SqDist(v_i, v_j) whatever the chunking. When the work is large, rows are dealt to goroutines, each
// of which owns the whole computation of its pairs: scheduling cannot change any bit.
func pairwiseSqDist(inputs [][]float64, dim int) []float64 {
	n := len(inputs)
	dist := make([]float64, n*n)
	workers := 1
	if pairs := n * (n - 1) / 2; pairs*dim >= parallelWork {
		workers = min(runtime.GOMAXPROCS(0), n-1)
	}
	if workers <= 1 {
		accumulateRows(inputs, dim, dist, 0, 1)
	} else {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				accumulateRows(inputs, dim, dist, w, workers)
			}()
		}
		wg.Wait()
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			dist[j*n+i] = dist[i*n+j]
		}
	}
	return dist
}

// accumulateRows fills dist[i*n+j] for j > i and every row i ≡ first (mod stride). Dealing rows round
// robin balances the triangle's uneven row lengths well enough for a handful of workers.
func accumulateRows(inputs [][]float64, dim int, dist []float64, first, stride int) {
	n := len(inputs)
	for c0 := 0; c0 < dim; c0 += distanceChunk {
		c1 := min(c0+distanceChunk, dim)
		for i := first; i < n; i += stride {
			a := inputs[i][c0:c1]
			for j := i + 1; j < n; j++ {
				b := inputs[j][c0:c1]
				b = b[:len(a)]
				s := dist[i*n+j]
				for k, x := range a {
					d := x - b[k]
					s = float64(d*d) + s
				}
				dist[i*n+j] = s
			}
		}
	}
}
