package agg

// trimmed is the coordinate-wise trimmed mean: per coordinate, drop the b largest and b smallest of the
// N values, b = Context.Byzantine capped at ⌊(N−1)/2⌋ so that at least one value remains, and average
// the rest. Two selections isolate the kept values and only those are sorted; they are summed in
// ascending order, which makes the result a function of the multiset of values alone (independent of
// the input order and of the selection algorithm).
type trimmed struct{}

func (trimmed) Name() string { return "tm" }

func (trimmed) Aggregate(inputs [][]float64, ctx Context) ([]float64, error) {
	dim, err := CheckInputs(inputs)
	if err != nil {
		return nil, err
	}
	n := len(inputs)
	b := byzantine(ctx, (n-1)/2)
	inv := 1 / float64(n-2*b)
	keys := make([]uint64, n)
	out := make([]float64, dim)
	forEachColumn(inputs, dim, func(c int, col []float64) {
		if b > 0 {
			selectKth(col, b)           // col[:b] are the b smallest
			selectKth(col[b:], n-2*b-1) // col[b:n−b] the next n − 2b: the kept values
		}
		kept := col[b : n-b]
		sortFloats(kept, keys)
		var s float64
		for _, x := range kept {
			s = float64(x*inv) + s // see addScaled: no overflow
		}
		out[c] = s
	})
	return checkOutput("tm", out)
}
