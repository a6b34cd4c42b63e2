package data

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func mustRead(t *testing.T, text string, opts ReadOptions) *Dataset {
	t.Helper()
	d, err := ReadLIBSVM(strings.NewReader(text), "t", opts)
	if err != nil {
		t.Fatalf("ReadLIBSVM: %v", err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return d
}

func TestReadLIBSVMParsesCSR(t *testing.T) {
	text := "# header comment\r\n" +
		"+1 1:0.5 3:2 \r\n" +
		"\n" +
		"-1 qid:7 2:1e-3\t4:-1.5  # trailing comment\n" +
		"   \t\n" +
		"-1\n" + // a row with no features
		"+1 2:0 5:4" // explicit zero dropped, no final newline
	d := mustRead(t, text, ReadOptions{})
	want := &Dataset{
		Name:     "t",
		Features: 5,
		Indptr:   []int{0, 2, 4, 4, 5},
		Indices:  []int32{0, 2, 1, 3, 4},
		Values:   []float64{0.5, 2, 1e-3, -1.5, 4},
		Labels:   []float64{1, 0, 0, 1},
	}
	if d.Name != want.Name || d.Features != want.Features || !slices.Equal(d.Indptr, want.Indptr) ||
		!slices.Equal(d.Indices, want.Indices) || !slices.Equal(d.Values, want.Values) ||
		!slices.Equal(d.Labels, want.Labels) {
		t.Fatalf("got %+v\nwant %+v", d, want)
	}
}

func TestReadLIBSVMLabelMapping(t *testing.T) {
	tests := []struct {
		name, text string
		want       []float64
	}{
		{"plus minus one", "-1\n+1\n-1\n", []float64{0, 1, 0}},
		{"zero one", "1\n0\n", []float64{1, 0}},
		{"one two", "2\n1\n2\n", []float64{1, 0, 1}},
		{"two three", "3\n2\n", []float64{1, 0}},
		{"negative pair", "-3\n-7\n", []float64{1, 0}},
		{"only minus one", "-1\n-1\n", []float64{0, 0}},
		{"only zero", "0\n", []float64{0}},
		{"only one", "1\n1\n", []float64{1, 1}},
		{"only two", "2\n", []float64{1}},
		{"decimal forms", "1.0\n-1.0\n1\n", []float64{1, 0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := mustRead(t, tc.text, ReadOptions{})
			if !slices.Equal(d.Labels, tc.want) {
				t.Fatalf("labels %v, want %v", d.Labels, tc.want)
			}
		})
	}
}

func TestReadLIBSVMFeatures(t *testing.T) {
	if d := mustRead(t, "1 2:1\n0 7:0\n", ReadOptions{}); d.Features != 7 || d.NNZ() != 1 {
		t.Errorf("zero-valued index 7 should widen the inferred features: got %d features, %d nnz", d.Features, d.NNZ())
	}
	if d := mustRead(t, "1 2:1\n", ReadOptions{Features: 123}); d.Features != 123 {
		t.Errorf("declared features: got %d", d.Features)
	}
}

func TestReadLIBSVMErrors(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		opts  ReadOptions
		line  int    // 0: not a ParseError
		msg   string // substring of the message
		limit bool   // wraps ErrLimit rather than ErrFormat
	}{
		{"index zero", "1 1:1\n1 0:1\n", ReadOptions{}, 2, "index 0 is not allowed (LIBSVM indices start at 1)", false},
		{"decreasing", "1 3:1 2:1\n", ReadOptions{}, 1, "index 2 after 3", false},
		{"repeated", "1 3:1 3:1\n", ReadOptions{}, 1, "index 3 after 3", false},
		{"negative index", "1 -3:1\n", ReadOptions{}, 1, "not a positive integer", false},
		{"non-numeric index", "1 a:1\n", ReadOptions{}, 1, "not a positive integer", false},
		{"empty index", "1 :1\n", ReadOptions{}, 1, "not a positive integer", false},
		{"non-numeric label", "yes 1:1\n", ReadOptions{}, 1, "label \"yes\"", false},
		{"nan label", "nan 1:1\n", ReadOptions{}, 1, "label \"nan\"", false},
		{"non-numeric value", "1 1:x\n", ReadOptions{}, 1, "value \"x\"", false},
		{"empty value", "1 1:\n", ReadOptions{}, 1, "value \"\"", false},
		{"nan value", "\n1 1:NaN\n", ReadOptions{}, 2, "value \"NaN\"", false},
		{"inf value", "1 1:+Inf\n", ReadOptions{}, 1, "value \"+Inf\"", false},
		{"overflowing value", "1 1:1e400\n", ReadOptions{}, 1, "value \"1e400\"", false},
		{"missing colon", "1 1:1 5\n", ReadOptions{}, 1, "missing ':' in \"5\"", false},
		{"above declared", "1 1:1\n0 124:1\n", ReadOptions{Features: 123}, 2, "index 124 is above the declared feature count 123", false},
		{"three labels", "1\n2\n1\n3\n", ReadOptions{}, 4, "third distinct label 3", false},
		{"no rows", "# nothing\n\n", ReadOptions{}, 2, "no data rows", false},
		{"empty input", "", ReadOptions{}, 0, "no data rows", false},
		{"too many rows", "1\n0\n1\n", ReadOptions{MaxRows: 2}, 3, "more than 2 rows", true},
		{"feature limit", "1 11:1\n", ReadOptions{MaxFeatures: 10}, 1, "index 11 is above the feature limit 10", true},
		{"huge index", "1 99999999999999999999:1\n", ReadOptions{}, 1, "above the feature limit", true},
		{"line too long", "1 1:1\n1 1:1 2:1 3:1\n", ReadOptions{MaxLineBytes: 8}, 2, "line longer than 8 bytes", true},
		{"nnz limit", "1 1:1 2:1\n1 3:1\n", ReadOptions{MaxNNZ: 2}, 2, "more than 2 nonzeros", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadLIBSVM(strings.NewReader(tc.text), "t", tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			want := ErrFormat
			if tc.limit {
				want = ErrLimit
			}
			if !errors.Is(err, want) {
				t.Errorf("error %v does not wrap %v", err, want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.Line != tc.line {
				t.Errorf("line %d, want %d", pe.Line, tc.line)
			}
		})
	}
}

func TestParseErrorFormat(t *testing.T) {
	_, err := ReadLIBSVM(strings.NewReader(strings.Repeat("1 1:1\n", 122)+"1 0:1\n"), "a9a", ReadOptions{})
	const want = "a9a:123: index 0 is not allowed (LIBSVM indices start at 1)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if zero := (&ParseError{}); !errors.Is(zero, ErrFormat) {
		t.Error("a ParseError without Err should wrap ErrFormat")
	}
}

func TestReadOptionsInvalid(t *testing.T) {
	for _, o := range []ReadOptions{{Features: -1}, {MaxRows: -1}, {MaxFeatures: -2}, {MaxLineBytes: -1}, {MaxNNZ: -5}} {
		if _, err := ReadLIBSVM(strings.NewReader("1 1:1\n"), "t", o); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: got %v, want ErrOptions", o, err)
		}
	}
	if _, err := ReadLIBSVM(strings.NewReader("1 1:1\n"), "t", ReadOptions{Features: 20, MaxFeatures: 10}); !errors.Is(err, ErrLimit) {
		t.Errorf("features above the limit: got %v, want ErrLimit", err)
	}
}

func TestLongTokenTruncatedInMessage(t *testing.T) {
	_, err := ReadLIBSVM(strings.NewReader("1 1:"+strings.Repeat("z", 5000)+"\n"), "t", ReadOptions{})
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("want a short error, got %d bytes", len(err.Error()))
	}
}

// FuzzReadLIBSVM checks that the reader never panics and that whatever it accepts is a consistent
// Dataset whose labels are binary and whose hash is stable.
func FuzzReadLIBSVM(f *testing.F) {
	for _, s := range []string{
		"+1 1:0.5 3:2\n-1 2:1\n",
		"1 qid:3 1:1 # c\r\n0\n",
		"2 5:1e-300 6:-7\n1 1:0\n",
		"1 0:1\n", "1 2:1 1:1\n", "a 1:1\n", "1 1:nan\n", "1\n2\n3\n", "",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, features uint8) {
		opts := ReadOptions{Features: int(features % 16), MaxRows: 1000, MaxLineBytes: 4096, MaxNNZ: 10000}
		d, err := ReadLIBSVM(strings.NewReader(string(in)), "fuzz", opts)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error %v wraps neither ErrFormat nor ErrLimit", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted an inconsistent dataset: %v", err)
		}
		if d.Rows() == 0 || d.Rows() > opts.MaxRows || d.NNZ() > opts.MaxNNZ {
			t.Fatalf("limits broken: %d rows, %d nnz", d.Rows(), d.NNZ())
		}
		if opts.Features > 0 && d.Features != opts.Features {
			t.Fatalf("declared %d features, got %d", opts.Features, d.Features)
		}
		if d.Hash() != d.Subset(allRows(d)).Hash() {
			t.Fatal("a full-row copy hashes differently")
		}
	})
}

func allRows(d *Dataset) []int {
	rows := make([]int, d.Rows())
	for i := range rows {
		rows[i] = i
	}
	return rows
}
