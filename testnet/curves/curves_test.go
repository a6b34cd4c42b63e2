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
		{"a", 1, 0, 0, 0.7, 0.2}, {"a", 1, 0.5, 10, 0.6, 0.1}, {"a", 2, 0, 0, 0.7, 0.2}, {"a", 2, 0.7, 10, 0.55, 0.05},
		{"b", 1, 0, 0, 0.7, 0.2}, {"b", 1, 0.5, 10, math.Inf(1), math.Inf(1)},
	}
}

func TestCSVRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "series,seed,epoch,round,loss,gap\n") {
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
	for _, in := range []string{"", "a,b\n", "series,seed,epoch,round,loss,gap\nx,1,0,zero,1,1\n"} {
		if _, err := ReadCSV(strings.NewReader(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("ReadCSV(%q) = %v, want ErrFormat", in, err)
		}
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
