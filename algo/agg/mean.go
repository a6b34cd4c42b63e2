package agg

import "github.com/byzpp/byzpp/algo/vec"

// addScaled sets dst ← dst + v/n, written as float64((1/n)·v_c) + dst_c. Every average in this package
// is accumulated this way, term by term in a fixed order, rather than summed and then divided: the
// partial sums then never exceed the largest input in magnitude, so no finite inputs — however large a
// Byzantine member makes them — can overflow an average and make the round's aggregation fail.
func addScaled(dst, v []float64, n int) {
	vec.Axpy(1/float64(n), v, dst)
}

// mean is the plain average. It tolerates no Byzantine input at all; it is here as the baseline and as
// the aggregator of the no-attack runs.
type mean struct{}

func (mean) Name() string { return "mean" }

func (mean) Aggregate(inputs [][]float64, _ Context) ([]float64, error) {
	dim, err := CheckInputs(inputs)
	if err != nil {
		return nil, err
	}
	out := make([]float64, dim)
	for _, v := range inputs {
		addScaled(out, v, len(inputs))
	}
	return checkOutput("mean", out)
}
