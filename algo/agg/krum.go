package agg

import (
	"cmp"
	"slices"
	"strconv"
)

// krum is Krum (m = 1) or Multi-Krum (m > 1), Blanchard et al. 2017: the score of input i is the sum of
// its squared distances to its N − f − 2 nearest other inputs (at least 1, at most N − 1); Krum returns
// the input with the least score, Multi-Krum the mean of the m least-scored. Ties go to the lower index,
// and the chosen inputs are averaged in index order.
type krum struct{ m int }

func (k krum) Name() string {
	if k.m <= 1 {
		return "krum"
	}
	return "mkrum:" + strconv.Itoa(k.m)
}

func (k krum) Aggregate(inputs [][]float64, ctx Context) ([]float64, error) {
	dim, err := CheckInputs(inputs)
	if err != nil {
		return nil, err
	}
	n := len(inputs)
	chosen := krumSelect(inputs, dim, byzantine(ctx, n), max(k.m, 1))
	out := make([]float64, dim)
	if len(chosen) == 1 {
		copy(out, inputs[chosen[0]])
	} else {
		for _, i := range chosen {
			addScaled(out, inputs[i], len(chosen))
		}
	}
	return checkOutput(k.Name(), out)
}

// krumScores returns every input's Krum score for f Byzantine inputs. Each score sums the nearest
// distances in ascending order, so it depends only on the distances, not on the input order.
func krumScores(inputs [][]float64, dim, f int) []float64 {
	n := len(inputs)
	scores := make([]float64, n)
	if n == 1 {
		return scores
	}
	neighbours := max(1, min(n-f-2, n-1))
	dist := pairwiseSqDist(inputs, dim)
	row := make([]float64, 0, n-1)
	for i := 0; i < n; i++ {
		row = row[:0]
		for j := 0; j < n; j++ {
			if j != i {
				row = append(row, dist[i*n+j])
			}
		}
		slices.Sort(row)
		var s float64
		for _, d := range row[:neighbours] {
			s += d
		}
		scores[i] = s
	}
	return scores
}

// krumSelect returns the indices of the m best-scored inputs (m capped at N), in increasing index order.
func krumSelect(inputs [][]float64, dim, f, m int) []int {
	scores := krumScores(inputs, dim, f)
	order := make([]int, len(inputs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(scores[a], scores[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	chosen := order[:min(m, len(order))]
	slices.Sort(chosen)
	return chosen
}
