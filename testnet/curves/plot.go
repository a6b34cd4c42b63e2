package curves

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// gapFloor is where non-positive gaps are drawn on the log axis (a gap can reach 0 or dip below it by
// rounding once f(x) meets f* to machine precision).
const gapFloor = 1e-16

// palette is Okabe–Ito: distinguishable for colour-blind readers and in greyscale.
var palette = []color.RGBA{
	{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{230, 159, 0, 255}, {86, 180, 233, 255}, {0, 0, 0, 255}, {240, 228, 66, 255},
}

// Summary is one series aggregated over seeds at each recorded round.
type Summary struct {
	Series         string
	Epoch          []float64 // mean over seeds
	Round          []int
	Median         []float64 // of the gap
	Lo, Hi         []float64 // min and max of the gap over seeds
	Seeds          int
	FinalGapMedian float64
}

// Summarize groups rows by series (in first-appearance order) and, per round recorded by every seed,
// takes the median, min and max gap and the mean epoch.
func Summarize(rows []Row) []Summary {
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
		for _, r := range rs {
			seeds[r.Seed] = true
			byRound[r.Round] = append(byRound[r.Round], r)
		}
		var rounds []int
		for k, v := range byRound {
			if len(v) == len(seeds) {
				rounds = append(rounds, k)
			}
		}
		slices.Sort(rounds)
		s := Summary{Series: name, Seeds: len(seeds)}
		for _, k := range rounds {
			v := byRound[k]
			gaps := make([]float64, len(v))
			var ep float64
			for i, r := range v {
				gaps[i] = r.Gap
				ep += r.Epoch
			}
			slices.Sort(gaps)
			med := gaps[len(gaps)/2]
			if len(gaps)%2 == 0 {
				med = (gaps[len(gaps)/2-1] + gaps[len(gaps)/2]) / 2
			}
			s.Round = append(s.Round, k)
			s.Epoch = append(s.Epoch, ep/float64(len(v)))
			s.Median = append(s.Median, med)
			s.Lo = append(s.Lo, gaps[0])
			s.Hi = append(s.Hi, gaps[len(gaps)-1])
		}
		if n := len(s.Median); n > 0 {
			s.FinalGapMedian = s.Median[n-1]
		}
		out = append(out, s)
	}
	return out
}

// gapCeiling is where diverged runs (an infinite gap) are drawn.
const gapCeiling = 1e3

func floor(g float64) float64 {
	switch {
	case math.IsNaN(g) || g < gapFloor:
		return gapFloor
	case g > gapCeiling:
		return gapCeiling
	}
	return g
}

// PlotPNG draws gap (log scale) against epochs: a line per series (median over seeds) and a shaded
// band from the best to the worst seed. xLabel names the x axis ("epochs" or "rounds"); useRounds
// plots rounds instead of epochs.
func PlotPNG(path, title string, rows []Row, useRounds bool) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epochs (passes over a member's data)"
	if useRounds {
		p.X.Label.Text = "rounds"
	}
	p.Y.Label.Text = "f(x) − f*"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = powerTicks{}
	p.Legend.Left = true // curves fall towards the bottom right; the bottom left stays empty
	p.Add(plotter.NewGrid())
	for i, s := range Summarize(rows) {
		if len(s.Round) == 0 {
			continue
		}
		col := palette[i%len(palette)]
		x := func(j int) float64 {
			if useRounds {
				return float64(s.Round[j])
			}
			return s.Epoch[j]
		}
		line := make(plotter.XYs, len(s.Round))
		band := make(plotter.XYs, 0, 2*len(s.Round))
		for j := range s.Round {
			line[j] = plotter.XY{X: x(j), Y: floor(s.Median[j])}
			band = append(band, plotter.XY{X: x(j), Y: floor(s.Hi[j])})
		}
		for j := len(s.Round) - 1; j >= 0; j-- {
			band = append(band, plotter.XY{X: x(j), Y: floor(s.Lo[j])})
		}
		if s.Seeds > 1 {
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return fmt.Errorf("plotting band of %s: %w", s.Series, err)
			}
			poly.Color = color.RGBA{col.R, col.G, col.B, 60}
			poly.LineStyle.Width = 0
			poly.LineStyle.Color = poly.Color
			p.Add(poly)
		}
		l, err := plotter.NewLine(line)
		if err != nil {
			return fmt.Errorf("plotting %s: %w", s.Series, err)
		}
		l.Color = col
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (%d seeds)", s.Series, s.Seeds), l)
	}
	if err := p.Save(7*vg.Inch, 4.5*vg.Inch, path); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return nil
}

// powerTicks labels the powers of ten on a log axis as 1e-5, thinning labels when there are many.
type powerTicks struct{}

// Ticks implements plot.Ticker.
func (powerTicks) Ticks(lo, hi float64) []plot.Tick {
	lo = math.Max(lo, gapFloor)
	first := int(math.Floor(math.Log10(lo)))
	last := int(math.Ceil(math.Log10(hi)))
	step := 1
	for (last-first)/step > 8 {
		step++
	}
	var ticks []plot.Tick
	for e := first; e <= last; e++ {
		t := plot.Tick{Value: math.Pow(10, float64(e))}
		if (e-first)%step == 0 {
			t.Label = fmt.Sprintf("1e%d", e)
		}
		ticks = append(ticks, t)
	}
	return ticks
}
