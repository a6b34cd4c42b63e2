package curves

import (
	"bufio"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	_ "gonum.org/v1/plot/vg/vgsvg" // svg
)

// gapFloor is where non-positive gaps are drawn on the log axis (a gap can reach 0 or dip below it by
// rounding once f(x) meets f* to machine precision).
const gapFloor = 1e-16

// palette is Okabe–Ito: distinguishable for colour-blind readers and in greyscale.
var palette = []color.RGBA{
	{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{230, 159, 0, 255}, {86, 180, 233, 255}, {0, 0, 0, 255}, {240, 228, 66, 255},
}

// Size of the data area's figure (the legend is added to the right of it).
const (
	plotWidth  = 7 * vg.Inch
	plotHeight = 4.5 * vg.Inch
)

// PlotInfo says what Draw wrote.
type PlotInfo struct {
	Files []string // the PNG, then the SVG
	// Note explains a plot that shows less than the rows ("" when it shows them all): no positive
	// value to draw on a log scale, or the loss drawn because f* is unknown.
	Note string
}

// PlotPNG is Draw without the PlotInfo.
func PlotPNG(path, title string, rows []Row, useRounds bool) error {
	_, err := Draw(path, title, rows, useRounds)
	return err
}

// Draw plots the gap f(x) − f* on a log scale against epochs (rounds with useRounds) to pngPath and
// the same figure as SVG beside it (pngPath with .svg): a line per series (the median over seeds), a
// band in the line's colour from the best to the worst seed, a cross where a series diverged (its line
// ends at its last finite point), and the legend to the right of the plot. Without a finite gap it
// plots the loss; without a positive value at all it draws an empty frame with a note. It does not
// panic (a plotting library panic is returned as an error).
//
// The two files are drawn side by side, each from a figure of its own (a gonum plot adjusts its axes
// while it draws, so one figure must not be drawn twice at once).
func Draw(pngPath, title string, rows []Row, useRounds bool) (info PlotInfo, err error) {
	svgPath := strings.TrimSuffix(pngPath, filepath.Ext(pngPath)) + ".svg"
	files := []struct{ path, format string }{{pngPath, "png"}, {svgPath, "svg"}}
	errs := make([]error, len(files))
	notes := make([]string, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() { notes[i], errs[i] = drawFile(f.path, f.format, title, rows, useRounds) })
	}
	wg.Wait()
	info.Note = notes[0]
	for i, f := range files {
		if errs[i] != nil {
			return info, errs[i]
		}
		info.Files = append(info.Files, f.path)
	}
	return info, nil
}

// drawFile builds the figure and saves it as format; a plotting library panic is returned as an error.
func drawFile(path, format, title string, rows []Row, useRounds bool) (note string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("plotting %s: %v", path, r)
		}
	}()
	fig, note := figure(title, rows, useRounds)
	return note, fig.save(path, format)
}

// fig is a plot and its legend, drawn side by side.
type fig struct {
	p      *plot.Plot
	legend plot.Legend
}

// metric is what the y axis shows.
type metric struct {
	label string
	value func(Row) float64
}

var (
	gapMetric  = metric{"f(x) − f*", func(r Row) float64 { return r.Gap }}
	lossMetric = metric{"honest loss f(x)", func(r Row) float64 { return r.Loss }}
)

// figure builds the plot; note says what it could not show.
func figure(title string, rows []Row, useRounds bool) (*fig, string) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epochs (passes over a member's data)"
	if useRounds {
		p.X.Label.Text = "rounds"
	}
	p.Add(plotter.NewGrid())
	m, note := gapMetric, ""
	if !anyPositive(rows, gapMetric.value) {
		m, note = lossMetric, "no finite positive gap f(x) − f* was recorded (f* unknown?): the plot shows the honest loss"
		if !anyPositive(rows, lossMetric.value) {
			m, note = gapMetric, "no finite positive value was recorded: nothing to draw on a log scale"
		}
	}
	p.Y.Label.Text = m.label
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = powerTicks{}
	p.X.Tick.Marker = niceTicks{}
	f := &fig{p: p, legend: plot.NewLegend()}
	f.legend.Top, f.legend.Left = true, true
	f.legend.ThumbnailWidth = 0.35 * vg.Inch
	sums := SummarizeBy(rows, m.value)
	ylo, yhi, xlo, xhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range sums {
		for j := range s.Round {
			for _, v := range []float64{s.Median[j], s.Lo[j], s.Hi[j]} {
				if v > 0 && !math.IsInf(v, 1) {
					ylo, yhi = math.Min(ylo, math.Max(v, gapFloor)), math.Max(yhi, v)
				}
			}
			x := xOf(s, j, useRounds)
			xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
		}
	}
	// A diverging series would stretch the axis over hundreds of decades and flatten the others: the
	// axis ends 1000 times above the largest starting value, and a series above it leaves through
	// the top.
	if start := startMax(sums); start > 0 && yhi > 1e3*start {
		yhi = 1e3 * start
	}
	if math.IsInf(ylo, 1) { // nothing to draw
		ylo, yhi = 1e-3, 1
		xlo, xhi = 0, 1
		f.addNote(note)
	}
	if ylo == yhi {
		ylo, yhi = ylo/10, yhi*10
	}
	if !(xhi > xlo) {
		xlo, xhi = xlo-0.5, xlo+0.5
		if xlo < 0 && xhi-xlo == 1 {
			xlo, xhi = 0, 1
		}
	}
	for i, s := range sums {
		f.addSeries(s, palette[i%len(palette)], useRounds, yhi)
	}
	// End the x axis on a labelled tick when the data stop just short of one (1.96 epochs → 2).
	if step := niceStep((xhi - xlo) / 5); xhi-xlo > 0 {
		if next := math.Ceil(xhi/step-1e-9) * step; next-xhi < 0.1*(xhi-xlo) {
			xhi = next
		}
	}
	// After the plotters: adding one widens the axes to its data.
	p.Y.Min, p.Y.Max = ylo, yhi
	p.X.Min, p.X.Max = xlo, xhi
	return f, note
}

// startMax is the largest finite first value (median over seeds) of the series.
func startMax(sums []Summary) float64 {
	m := 0.0
	for _, s := range sums {
		if len(s.Median) > 0 && !math.IsInf(s.Median[0], 0) && !math.IsNaN(s.Median[0]) {
			m = math.Max(m, s.Median[0])
		}
	}
	return m
}

func anyPositive(rows []Row, value func(Row) float64) bool {
	for _, r := range rows {
		if v := value(r); v > 0 && !math.IsInf(v, 1) {
			return true
		}
	}
	return false
}

func xOf(s Summary, j int, useRounds bool) float64 {
	if useRounds {
		return float64(s.Round[j])
	}
	return s.Epoch[j]
}

// addSeries draws one series: its median line through the finite values (non-positive ones at the
// floor), the band between its best and worst seed (an infinite worst seed at the top of the axis),
// and a cross at the end of a diverged series.
func (f *fig) addSeries(s Summary, col color.RGBA, useRounds bool, top float64) {
	name := fmt.Sprintf("%s (%s)", s.Series, seedsText(s.Seeds))
	var line, band plotter.XYs
	clampY := func(v float64) float64 {
		switch {
		case math.IsNaN(v) || v < gapFloor:
			return gapFloor
		case math.IsInf(v, 1):
			return top
		}
		return v
	}
	for j := range s.Round {
		if math.IsInf(s.Median[j], 1) {
			break // the run diverged here: the line stops at its last finite point
		}
		line = append(line, plotter.XY{X: xOf(s, j, useRounds), Y: clampY(s.Median[j])})
	}
	for j := range line {
		band = append(band, plotter.XY{X: line[j].X, Y: clampY(s.Hi[j])})
	}
	for j := len(line) - 1; j >= 0; j-- {
		band = append(band, plotter.XY{X: line[j].X, Y: clampY(s.Lo[j])})
	}
	var thumbs []plot.Thumbnailer
	if s.Seeds > 1 && len(line) > 1 {
		if poly, err := plotter.NewPolygon(band); err == nil {
			poly.Color = color.NRGBA{col.R, col.G, col.B, 60} // not RGBA: that one is premultiplied
			poly.LineStyle.Width = 0
			poly.LineStyle.Color = poly.Color
			f.p.Add(poly)
			thumbs = append(thumbs, poly)
		}
	}
	if len(line) > 0 {
		l, err := plotter.NewLine(line)
		if err == nil {
			l.Color = col
			l.Width = vg.Points(1.5)
			f.p.Add(l)
			thumbs = append(thumbs, l)
		}
	}
	// A line of no length is not seen: mark it. A diverged series ends with a cross (at the top of the axis
	// when it left the plot before).
	last := len(line) - 1
	point := last >= 0 && line[0].X == line[last].X // one point, or every point at one x (sim --rounds 1)
	if last >= 0 && (point || s.Diverged > 0) {
		end := plotter.XY{X: line[last].X, Y: math.Min(line[last].Y, top)}
		if sc, err := plotter.NewScatter(plotter.XYs{end}); err == nil {
			sc.Color = col
			sc.Radius = vg.Points(4)
			sc.Shape = draw.CircleGlyph{}
			if s.Diverged > 0 {
				sc.Shape = draw.CrossGlyph{}
				sc.Radius = vg.Points(5)
			}
			f.p.Add(sc)
			if point {
				thumbs = append(thumbs, sc)
			}
		}
	}
	if s.Diverged > 0 {
		name += fmt.Sprintf(", diverged at round %d", s.Diverged)
	}
	if len(thumbs) > 0 {
		f.legend.Add(name, thumbs...)
	}
}

// addNote writes text in the middle of the plot.
func (f *fig) addNote(text string) {
	if text == "" {
		return
	}
	x := math.Sqrt(1e-3 * 1) // geometric middle of the empty plot's y range
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: 0.5, Y: x}}, Labels: []string{text}})
	if err != nil {
		return
	}
	for i := range l.TextStyle {
		l.TextStyle[i].XAlign = draw.XCenter
	}
	f.p.Add(l)
}

// save draws the figure in one format: the plot at its size, the legend in a column to its right.
func (f *fig) save(path, format string) error {
	legendW := vg.Length(0)
	if r := f.legend.Rectangle(draw.Canvas{}); r.Max.X > r.Min.X {
		legendW = r.Max.X - r.Min.X + 0.3*vg.Inch
	}
	var c vg.CanvasWriterTo
	if format == "png" {
		c = fastPNG{vgimg.New(plotWidth+legendW, plotHeight)}
	} else {
		var err error
		if c, err = draw.NewFormattedCanvas(plotWidth+legendW, plotHeight, format); err != nil {
			return err
		}
	}
	dc := draw.New(c)
	f.p.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
	if legendW > 0 {
		// Beside the data area, starting below the title.
		top := f.p.Title.TextStyle.Rectangle(f.p.Title.Text).Size().Y + f.p.Title.Padding + 0.1*vg.Inch
		f.legend.Draw(draw.Crop(dc, plotWidth+0.15*vg.Inch, -0.15*vg.Inch, 0, -top))
	}
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	_, werr := c.WriteTo(file)
	if err := errors.Join(werr, file.Close()); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return nil
}

// fastPNG is vgimg's PngCanvas with zlib's fastest level: the same pixels in a file ~10% larger, for
// a third of the encoding time, the bulk of drawing the plot.
type fastPNG struct{ *vgimg.Canvas }

func (c fastPNG) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	b := bufio.NewWriter(cw)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(b, c.Image()); err != nil {
		return cw.n, err
	}
	err := b.Flush()
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
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
		v := math.Pow(10, float64(e))
		t := plot.Tick{Value: v}
		if (e-first)%step == 0 {
			t.Label = fmt.Sprintf("1e%d", e)
		} else if last-first > 24 {
			continue // unlabelled ticks that close together would merge into a bar
		}
		ticks = append(ticks, t)
		// Minor ticks at 2…9 × 10^e when the axis spans few decades.
		if last-first <= 3 && e < last {
			for k := 2; k <= 9; k++ {
				ticks = append(ticks, plot.Tick{Value: float64(k) * v})
			}
		}
	}
	return ticks
}

// niceTicks puts 4 to 10 labelled ticks on a linear axis at multiples of 1, 2 or 5 × 10^k, with a
// minor tick between each two, labelled in the shortest form ("0.5", "1.5", "2000", "1e+04").
type niceTicks struct{}

// Ticks implements plot.Ticker.
func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return []plot.Tick{{Value: lo, Label: label(lo)}}
	}
	step := niceStep((hi - lo) / 5)
	var ticks []plot.Tick
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9; k++ {
		v := k * step
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label(v)})
		if m := v + step/2; m <= hi {
			ticks = append(ticks, plot.Tick{Value: m})
		}
	}
	return ticks
}

// niceStep is the smallest 1, 2 or 5 × 10^k at least raw.
func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// label formats a tick value with at most 6 significant digits, shortest form.
func label(v float64) string {
	s := strconv.FormatFloat(v, 'g', 6, 64)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		s = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
