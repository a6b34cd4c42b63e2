package agg

// Coordinate-wise aggregators (CM, TM) need, for each coordinate, the N values of that coordinate.
// Reading inputs[i][c] for i = 0..N−1 jumps between N distant rows for every c, so instead a block of
// coordinates is copied into a small transposed scratch buffer with sequential reads of each row, and the
// per-coordinate work then runs on contiguous memory.

// columnBlock is the number of coordinates transposed at once; block·N floats stay within L2.
const columnBlock = 256

// forEachColumn calls fn(c, column) for every coordinate c in increasing order, where column holds
// inputs[0][c], …, inputs[N−1][c] in input order in a scratch slice that fn may reorder.
func forEachColumn(inputs [][]float64, dim int, fn func(c int, column []float64)) {
	forEachColumnIn(inputs, dim, make([]float64, min(columnBlock, dim)*len(inputs)), fn)
}

// forEachColumnIn is forEachColumn with the caller's scratch of min(columnBlock, dim)·N floats.
func forEachColumnIn(inputs [][]float64, dim int, scratch []float64, fn func(c int, column []float64)) {
	n := len(inputs)
	for c0 := 0; c0 < dim; c0 += columnBlock {
		c1 := min(c0+columnBlock, dim)
		for i, v := range inputs {
			for k, x := range v[c0:c1] {
				scratch[k*n+i] = x
			}
		}
		for k := 0; k < c1-c0; k++ {
			fn(c0+k, scratch[k*n:(k+1)*n])
		}
	}
}
