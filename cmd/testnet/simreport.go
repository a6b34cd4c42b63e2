package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/byzpp/byzpp/testnet/curves"
	"github.com/byzpp/byzpp/testnet/experiment"
)

// seriesSummary is one series' last recorded point, over its seeds.
type seriesSummary struct {
	Series                 string
	Seeds, Rounds          int
	Epochs                 float64
	Gap, GapBest, GapWorst float64 // median, best and worst seed
	TestAccuracy           float64 // median over seeds; NaN without a held-out set
	TestLoss               float64
	Diverged               int // first round a seed diverged at (0: none)
}

// summaries sums up each series at the last round every seed recorded.
func summaries(rows []curves.Row) []seriesSummary {
	acc := curves.SummarizeBy(rows, func(r curves.Row) float64 { return r.TestAccuracy })
	tl := curves.SummarizeBy(rows, func(r curves.Row) float64 { return r.TestLoss })
	var out []seriesSummary
	for i, s := range curves.Summarize(rows) {
		n := len(s.Round)
		if n == 0 {
			continue
		}
		out = append(out, seriesSummary{Series: s.Series, Seeds: s.Seeds, Rounds: s.Round[n-1], Epochs: s.Epoch[n-1],
			Gap: s.Median[n-1], GapBest: s.Lo[n-1], GapWorst: s.Hi[n-1],
			TestAccuracy: acc[i].Final(), TestLoss: tl[i].Final(), Diverged: s.Diverged})
	}
	return out
}

func accuracyText(a float64) string {
	if math.IsNaN(a) {
		return "n/a"
	}
	return fmt.Sprintf("%.4f", a)
}

func gapText(g float64) string {
	if math.IsNaN(g) {
		return "n/a"
	}
	return fmt.Sprintf("%.3e", g)
}

// simReport is report.md of `testnet sim`: what ran, the final figures per series, the plot (or why
// there is none).
func simReport(title string, exp *experiment.Experiment, rows []curves.Row, plot curves.PlotInfo, plotErr error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	seeds := make([]string, len(exp.Seeds))
	for i, s := range exp.Seeds {
		seeds[i] = fmt.Sprint(s)
	}
	fmt.Fprintf(&b, "Seeds %s; the whole configuration is in config.json (`testnet sim --config config.json` repeats the run).\n\n", strings.Join(seeds, ", "))
	test := map[string]string{}
	for _, s := range exp.Series {
		name := s.Spec.TestDataName()
		if name == "" {
			name = "none"
		}
		test[s.Name] = name
	}
	fmt.Fprintf(&b, "| series | seeds | rounds | epochs | final gap f(x) − f*, median (best … worst) | held-out set | test accuracy | test loss |\n|---|---|---|---|---|---|---|---|\n")
	for _, s := range summaries(rows) {
		gap := fmt.Sprintf("%s (%s … %s)", gapText(s.Gap), gapText(s.GapBest), gapText(s.GapWorst))
		if s.Diverged > 0 {
			gap += fmt.Sprintf("; diverged at round %d", s.Diverged)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f | %s | %s | %s | %s |\n", s.Series, s.Seeds, s.Rounds, s.Epochs, gap,
			test[s.Series], accuracyText(s.TestAccuracy), gapText(s.TestLoss))
	}
	if len(rows) == 0 {
		fmt.Fprintf(&b, "\nNo point was recorded.\n")
	}
	switch {
	case plotErr != nil:
		fmt.Fprintf(&b, "\nNo plot: %v\n", plotErr)
	default:
		fmt.Fprintf(&b, "\n![gap against epochs](curves.png) (also curves.svg)\n")
		if plot.Note != "" {
			fmt.Fprintf(&b, "\nThe plot: %s.\n", plot.Note)
		}
	}
	return b.String()
}
