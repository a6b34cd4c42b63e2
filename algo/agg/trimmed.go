package agg

import "slices"

// trimmed is the coordinate-wise trimmed mean: per coordinate, drop the b largest and b smallest of the
// N values, b = Context.Byzantine capped at ⌊(N−1)/2⌋ so that at least one value remains, and average
// the rest. The kept values are summed in ascending order, which makes the result a function of the
// multiset of values alone (independent of input order and of the sorting algorithm).
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
	out := make([]float64, dim)
	forEachColumn(inputs, dim, func(c int, col []float64) {
		if n <= 16 {
			insertionSort(col)
		} else {
			slices.Sort(col)
		}
		var s float64
		for _, x := range col[b : n-b] {
			s = float64(x*inv) + s // see addScaled: no overflow
		}
		out[c] = s
	})
	return checkOutput("tm", out)
}
