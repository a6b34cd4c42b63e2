package agg

// median is the coordinate-wise median: per coordinate the middle value of the N inputs, or for even N
// the midpoint of the two middle values. It ignores Context.Byzantine: the median tolerates any
// minority by construction.
type median struct{}

func (median) Name() string { return "cm" }

func (median) Aggregate(inputs [][]float64, _ Context) ([]float64, error) {
	dim, err := CheckInputs(inputs)
	if err != nil {
		return nil, err
	}
	out := make([]float64, dim)
	forEachColumn(inputs, dim, func(c int, col []float64) {
		out[c] = medianOf(col)
	})
	return checkOutput("cm", out)
}

// medianOf returns the median of col (reordering it): the middle value, or for an even count the
// midpoint of the two middle values.
func medianOf(col []float64) float64 {
	n := len(col)
	if n%2 == 1 {
		return selectKth(col, n/2) + 0 // +0 normalises −0, see midpoint
	}
	low := selectKth(col, n/2-1)
	return midpoint(low, minOf(col[n/2:]))
}
