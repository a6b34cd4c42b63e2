package agg

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct{ spec, name string }{
		{"mean", "mean"},
		{" CM ", "cm"},
		{"median", "cm"},
		{"tm", "tm"},
		{"krum", "krum"},
		{"mkrum:5", "mkrum:5"},
		{"mkrum:1", "krum"},
		{"gm", "gm"},
		{"rfa", "gm"},
		{"gm:iters=8,nu=0.1", "gm"},
		{"gm:nu=0.5", "gm:iters=8,nu=0.5"},
		{"gm:nu=1e-3, iters=20", "gm:iters=20,nu=0.001"},
		{"cclip", "cclip"},
		{"cclip:tau=10,iters=3", "cclip"},
		{"cclip:iters=1", "cclip:tau=10,iters=1"},
		{"cclip:tau=0.25", "cclip:tau=0.25,iters=3"},
		{"bucket2(cm)", "bucket2(cm)"},
		{"Bucket3(gm:nu=0.5)", "bucket3(gm:iters=8,nu=0.5)"},
		{"bucket1(tm)", "tm"},
		{"bucket2(bucket3(mean))", "bucket2(bucket3(mean))"},
	}
	for _, tt := range tests {
		a, err := Parse(tt.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.spec, err)
			continue
		}
		if a.Name() != tt.name {
			t.Errorf("Parse(%q).Name() = %q, want %q", tt.spec, a.Name(), tt.name)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{
		"", "avg", "cm:1", "mean:x", "krum:2", "mkrum", "mkrum:", "mkrum:0", "mkrum:-1", "mkrum:1.5",
		"gm:", "gm:iters", "gm:iters=0", "gm:iters=1.5", "gm:iters=100000", "gm:nu=0", "gm:nu=-1",
		"gm:nu=NaN", "gm:nu=Inf", "gm:tau=1", "gm:nu=1,nu=2", "cclip:tau=0", "cclip:tau=inf",
		"cclip:iters=-3", "cclip:iters=3,", "bucket", "bucket2", "bucket2(cm", "bucket(cm)", "bucket0(cm)",
		"bucketx(cm)", "bucket2()", "bucket2(nope)", "bucket99999999(cm)",
		"bucket2(bucket2(bucket2(bucket2(bucket2(cm)))))",
	} {
		if a, err := Parse(spec); !errors.Is(err, ErrSpec) {
			t.Errorf("Parse(%q) = %v, %v; want an error wrapping ErrSpec", spec, a, err)
		}
	}
}

// FuzzParse: Parse never panics, errors wrap ErrSpec, and an accepted spec's Name parses back to an
// aggregator with the same Name that aggregates a small input without error.
func FuzzParse(f *testing.F) {
	for _, s := range append(allSpecs, "gm:nu=1e-3,iters=20", "bucket2(bucket3(cm))", "mkrum:", "cclip:tau=") {
		f.Add(s)
	}
	inputs := [][]float64{{1, 2}, {3, -4}, {0.5, 0}}
	f.Fuzz(func(t *testing.T, spec string) {
		a, err := Parse(spec)
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrSpec", spec, err)
			}
			return
		}
		b, err := Parse(a.Name())
		if err != nil || b.Name() != a.Name() {
			t.Fatalf("Parse(%q).Name() = %q does not round-trip: %v", spec, a.Name(), err)
		}
		out, err := a.Aggregate(inputs, testContext(1, 1))
		if err != nil || len(out) != 2 {
			t.Fatalf("%s: %v, %v", a.Name(), out, err)
		}
	})
}
