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
	n := len(inputs)
	out := make([]float64, dim)
	forEachColumn(inputs, dim, func(c int, col []float64) {
		if n%2 == 1 {
			out[c] = selectKth(col, n/2) + 0 // +0 normalises −0, see midpoint
			return
		}
		low := selectKth(col, n/2-1)
		out[c] = midpoint(low, minOf(col[n/2:]))
	})
	return checkOutput("cm", out)
}
