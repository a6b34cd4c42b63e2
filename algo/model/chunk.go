package model

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// chunkRows is how many rows one chunk of a pass holds. Chunks are the unit of parallel work, and they
// also fix the order of the pass's sums (naive order inside a chunk, then chunk results added in chunk
// order), so this constant is part of the numerical definition of Loss and Grad: changing it changes
// their bits. It must never depend on the machine or the number of cores.
//
// 4096 rows make a9a (32561 rows) eight chunks: enough to keep two to eight cores busy, and large enough
// that the goroutines and the merge (one vector add per chunk) cost little against a chunk's work.
// Passes of at most chunkRows rows, every minibatch among them, are one chunk and run on the calling
// goroutine exactly as before chunking existed.
const chunkRows = 4096

// chunkScratchLimit bounds the float64s of per-chunk gradients held at once (32 MiB). Passes whose
// chunks would need more are merged in windows of chunks; a variable so tests can exercise windows.
var chunkScratchLimit = 1 << 22

// rangeKernel handles rows [lo, hi) of a call's row list single-threaded, in naive order: it returns
// the sum of their losses and, when grad is non-nil, overwrites grad with the sum of their gradients.
type rangeKernel func(lo, hi int, grad []float64) float64

// scratchPool recycles the per-chunk gradient buffers of parallel passes.
var scratchPool sync.Pool // of *[]float64

// chunkedPass applies kernel to n rows in chunks of chunkRows and returns the sum of the losses; when
// grad is non-nil it overwrites grad with the sum of the gradients. The result is
//
//	loss = ((L_0 + L_1) + L_2) + …   grad[j] = ((G_0[j] + G_1[j]) + G_2[j]) + …
//
// where L_c, G_c are chunk c's kernel results, whatever GOMAXPROCS is: up to GOMAXPROCS goroutines
// compute chunks into separate buffers, which are then added in chunk order. A panic in the kernel (a
// row index or column beyond the model) is re-raised on the calling goroutine.
func chunkedPass(n int, grad []float64, kernel rangeKernel) float64 {
	chunks := (n + chunkRows - 1) / chunkRows
	if chunks <= 1 {
		return kernel(0, n, grad)
	}
	dim := len(grad)
	workers := min(runtime.GOMAXPROCS(0), chunks)
	// window chunks are computed before their results are merged; their gradients and losses live in
	// one buffer. Sequentially one chunk at a time suffices, and costs only one buffer.
	window := 1
	if workers > 1 {
		window = max(workers, min(chunks, chunkScratchLimit/max(dim, 1)))
	}
	buf := getScratch(window * (dim + 1))
	defer scratchPool.Put(buf)
	parts, losses := (*buf)[:window*dim], (*buf)[window*dim:]

	var loss float64
	for first := 0; first < chunks; first += window {
		count := min(window, chunks-first)
		run := func(i int) {
			c := first + i
			var g []float64
			if grad != nil {
				g = parts[i*dim : (i+1)*dim]
			}
			losses[i] = kernel(c*chunkRows, min(n, (c+1)*chunkRows), g)
		}
		if workers == 1 {
			for i := range count {
				run(i)
			}
		} else {
			runParallel(min(workers, count), count, run)
		}
		for i := range count {
			if first+i == 0 {
				loss = losses[0]
				if grad != nil {
					copy(grad, parts[:dim])
				}
				continue
			}
			loss += losses[i]
			if grad != nil {
				part := parts[i*dim : (i+1)*dim]
				part = part[:len(grad)]
				for j, v := range part {
					grad[j] += v
				}
			}
		}
	}
	return loss
}

// getScratch returns a pooled buffer of length size (contents unspecified).
func getScratch(size int) *[]float64 {
	if p, ok := scratchPool.Get().(*[]float64); ok && cap(*p) >= size {
		*p = (*p)[:size]
		return p
	}
	s := make([]float64, size)
	return &s
}

// runParallel calls run(i) for every i < count on workers goroutines, the caller's among them, taking
// indices in order from a shared counter. It returns when all calls have; the first panic among them is
// re-raised here.
func runParallel(workers, count int, run func(i int)) {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		panicked atomic.Pointer[panicValue]
	)
	work := func() {
		defer func() {
			if r := recover(); r != nil {
				panicked.CompareAndSwap(nil, &panicValue{r})
			}
		}()
		for {
			i := int(next.Add(1) - 1)
			if i >= count || panicked.Load() != nil {
				return
			}
			run(i)
		}
	}
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	if p := panicked.Load(); p != nil {
		panic(p.value)
	}
}

// panicValue carries a worker's panic to the calling goroutine.
type panicValue struct{ value any }
