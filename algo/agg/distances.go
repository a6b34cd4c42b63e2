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
//
// Four pairs (i, j), …, (i, j+3) are accumulated side by side: each still adds its own terms in
// coordinate order, so no bit changes, but the four independent addition chains hide the latency of the
// floating-point adder, which otherwise bounds a single sequential sum.
func accumulateRows(inputs [][]float64, dim int, dist []float64, first, stride int) {
	n := len(inputs)
	for c0 := 0; c0 < dim; c0 += distanceChunk {
		c1 := min(c0+distanceChunk, dim)
		for i := first; i < n; i += stride {
			a := inputs[i][c0:c1]
			j := i + 1
			for ; j+3 < n; j += 4 {
				b0, b1 := inputs[j][c0:c1], inputs[j+1][c0:c1]
				b2, b3 := inputs[j+2][c0:c1], inputs[j+3][c0:c1]
				b0, b1, b2, b3 = b0[:len(a)], b1[:len(a)], b2[:len(a)], b3[:len(a)]
				s0, s1, s2, s3 := dist[i*n+j], dist[i*n+j+1], dist[i*n+j+2], dist[i*n+j+3]
				for k, x := range a {
					d0, d1, d2, d3 := x-b0[k], x-b1[k], x-b2[k], x-b3[k]
					s0 = float64(d0*d0) + s0
					s1 = float64(d1*d1) + s1
					s2 = float64(d2*d2) + s2
					s3 = float64(d3*d3) + s3
				}
				dist[i*n+j], dist[i*n+j+1], dist[i*n+j+2], dist[i*n+j+3] = s0, s1, s2, s3
			}
			for ; j < n; j++ {
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
