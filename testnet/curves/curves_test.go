package curves

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sample() []Row {
	return []Row{
		{"a", 1, 0, 0, 0.7, 0.2, 0.69, 0.76}, {"a", 1, 0.5, 10, 0.6, 0.1, 0.5, 0.8}, {"a", 2, 0, 0, 0.7, 0.2, 0.69, 0.76}, {"a", 2, 0.7, 10, 0.55, 0.05, 0.45, 0.82},
		{"b", 1, 0, 0, 0.7, 0.2, 0.69, 0.76}, {"b", 1, 0.5, 10, math.Inf(1), math.Inf(1), math.Inf(1), 0.5},
	}
}

func TestCSVRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "series,seed,epoch,round,loss,gap,test_loss,test_accuracy\n") {
		t.Fatalf("header: %q", strings.SplitN(buf.String(), "\n", 2)[0])
	}
	back, err := ReadCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(sample()) {
		t.Fatalf("%d rows back, want %d", len(back), len(sample()))
	}
	for i, r := range sample() {
		if back[i] != r {
			t.Errorf("row %d: %+v, want %+v", i, back[i], r)
		}
	}
}

func TestReadCSVRejects(t *testing.T) {
	for _, in := range []string{"", "a,b\n", "series,seed,epoch,round,loss,gap\nx,1,0,zero,1,1\n",
		"series,seed,epoch,round,loss,gap,test_loss,test_accuracy\nx,1,0,0,1,1,1\n",
		"series,seed,epoch,round,loss,gap,test_loss,test_accuracy\nx,1,0,0,1,1,1,high\n"} {
		if _, err := ReadCSV(strings.NewReader(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("ReadCSV(%q) = %v, want ErrFormat", in, err)
		}
	}
}

// TestReadCSVWithoutTestColumns: a curves.csv from before the held-out columns still reads, with NaN
// test figures.
func TestReadCSVWithoutTestColumns(t *testing.T) {
	rows, err := ReadCSV(strings.NewReader("series,seed,epoch,round,loss,gap\nx,1,0.5,10,0.6,0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Round != 10 || rows[0].Gap != 0.1 || !math.IsNaN(rows[0].TestLoss) || !math.IsNaN(rows[0].TestAccuracy) {
		t.Fatalf("rows %+v", rows)
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize(sample())
	if len(s) != 2 || s[0].Series != "a" || s[0].Seeds != 2 {
		t.Fatalf("summary %+v", s)
	}
	if math.Abs(s[0].Median[1]-0.075) > 1e-15 || s[0].Lo[1] != 0.05 || s[0].Hi[1] != 0.1 || math.Abs(s[0].Epoch[1]-0.6) > 1e-15 {
		t.Errorf("round 10 of a: %+v", s[0])
	}
}

func TestPlotPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.png")
	if err := PlotPNG(path, "test", sample(), false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("not a PNG (%v)", err)
	}
}

// TestDrawAnything: whatever the rows, Draw writes a PNG and an SVG and does not panic — one point,
// one round whose gap never moves (gonum's log axis panicked on the flat range), no positive gap,
// nothing at all, a diverged run — and its note says when it could not draw the gap.
func TestDrawAnything(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name     string
		rows     []Row
		wantNote string
	}{
		{"no rows", nil, "nothing to draw"},
		{"one point", []Row{{"up", 1, 0, 0, 0.69, 0.2, nan, nan}}, ""},
		{"flat gap (sim --rounds 1)", []Row{{"run", 1, 0, 0, 0.69, 0.206, 0.69, 0.76}, {"run", 1, 0, 1, 0.69, 0.206, 0.69, 0.76}}, ""},
		{"no f*", []Row{{"run", 1, 0, 0, 0.69, nan, nan, nan}, {"run", 1, 1, 10, 0.5, nan, nan, nan}}, "honest loss"},
		{"nothing positive", []Row{{"run", 1, 0, 0, nan, nan, nan, nan}, {"run", 1, 1, 10, -1, 0, nan, nan}}, "nothing to draw"},
		{"diverged", sample(), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "curves.png")
			info, err := Draw(path, "test", tc.rows, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(info.Files) != 2 || info.Files[1] != filepath.Join(filepath.Dir(path), "curves.svg") {
				t.Fatalf("files %v", info.Files)
			}
			svg, err := os.ReadFile(info.Files[1])
			if err != nil || !bytes.Contains(svg, []byte("<svg")) {
				t.Fatalf("not an SVG (%v)", err)
			}
			if (tc.wantNote == "") != (info.Note == "") || !strings.Contains(info.Note, tc.wantNote) {
				t.Fatalf("note %q, want one containing %q", info.Note, tc.wantNote)
			}
		})
	}
}

func TestSeedsText(t *testing.T) {
	for n, want := range map[int]string{1: "1 seed", 2: "2 seeds", 3: "3 seeds"} {
		if got := seedsText(n); got != want {
			t.Errorf("seedsText(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSummarizeDiverged(t *testing.T) {
	s := Summarize(sample())
	if s[0].Diverged != 0 || s[1].Diverged != 10 {
		t.Fatalf("diverged: a %d, b %d; want 0, 10", s[0].Diverged, s[1].Diverged)
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []string
	}{
		{0, 1.96, []string{"0", "0.5", "1", "1.5"}},
		{0, 10000, []string{"0", "2000", "4000", "6000", "8000", "10000"}},
		{0, 0.3, []string{"0", "0.1", "0.2", "0.3"}},
		{2, 2, []string{"2"}},
	}
	for _, tc := range tests {
		var got []string
		for _, tk := range (niceTicks{}).Ticks(tc.lo, tc.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("[%v, %v]: %v, want %v", tc.lo, tc.hi, got, tc.want)
		}
	}
}
