package agg

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
