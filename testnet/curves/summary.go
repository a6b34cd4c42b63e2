package curves

import (
	"math"
	"slices"
)

// Summary is one series aggregated over seeds at each recorded round.
type Summary struct {
	Series         string
	Epoch          []float64 // mean over seeds
	Round          []int
	Median         []float64 // of the value summarised (the gap for Summarize)
	Lo, Hi         []float64 // min and max of it over seeds
	Seeds          int
	FinalGapMedian float64 // the last Median (named for Summarize's gap)
	// Diverged is the first round at which a seed's run diverged (an infinite loss), 0 when none did.
	// Rounds after it are not summarised: they are not recorded by every seed.
	Diverged int
}

// Summarize groups rows by series (in first-appearance order) and, per round recorded by every seed,
// takes the median, min and max gap and the mean epoch.
func Summarize(rows []Row) []Summary {
	return SummarizeBy(rows, func(r Row) float64 { return r.Gap })
}

// SummarizeBy is Summarize for any value of a row (the loss, the test accuracy…). NaN values sort
// below every number.
func SummarizeBy(rows []Row, value func(Row) float64) []Summary {
	var order []string
	bySeries := map[string][]Row{}
	for _, r := range rows {
		if _, ok := bySeries[r.Series]; !ok {
			order = append(order, r.Series)
		}
		bySeries[r.Series] = append(bySeries[r.Series], r)
	}
	var out []Summary
	for _, name := range order {
		rs := bySeries[name]
		seeds := map[uint64]bool{}
		byRound := map[int][]Row{}
		s := Summary{Series: name}
		for _, r := range rs {
			seeds[r.Seed] = true
			byRound[r.Round] = append(byRound[r.Round], r)
			if math.IsInf(r.Loss, 1) && (s.Diverged == 0 || r.Round < s.Diverged) {
				s.Diverged = max(r.Round, 1)
			}
		}
		s.Seeds = len(seeds)
		var rounds []int
		for k, v := range byRound {
			if len(v) == len(seeds) {
				rounds = append(rounds, k)
			}
		}
		slices.Sort(rounds)
		for _, k := range rounds {
			v := byRound[k]
			vals := make([]float64, len(v))
			var ep float64
			for i, r := range v {
				vals[i] = value(r)
				ep += r.Epoch
			}
			slices.Sort(vals)
			med := vals[len(vals)/2]
			if len(vals)%2 == 0 {
				med = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
			}
			s.Round = append(s.Round, k)
			s.Epoch = append(s.Epoch, ep/float64(len(v)))
			s.Median = append(s.Median, med)
			s.Lo = append(s.Lo, vals[0])
			s.Hi = append(s.Hi, vals[len(vals)-1])
		}
		if n := len(s.Median); n > 0 {
			s.FinalGapMedian = s.Median[n-1]
		}
		out = append(out, s)
	}
	return out
}

// Final is the last value of a summary (NaN when it has none).
func (s Summary) Final() float64 {
	if len(s.Median) == 0 {
		return math.NaN()
	}
	return s.Median[len(s.Median)-1]
}

// seedsText is "1 seed" or "N seeds".
func seedsText(n int) string {
	if n == 1 {
		return "1 seed"
	}
	return itoa(n) + " seeds"
}
