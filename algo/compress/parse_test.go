package compress

import (
	"errors"
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

func TestParse(t *testing.T) {
	tests := []struct {
		spec  string
		name  string
		d     int
		omega float64
	}{
		{"none", "none", 100, 0},
		{" Identity ", "none", 100, 0},
		{"randk:10", "randk:10", 100, 9},
		{"randk:+10", "randk:10", 100, 9},
		{"randk:1", "randk:1", 124, 123},
		{"randk:500", "randk:500", 100, 0}, // K capped at d
		{"randk:0.05", "randk:0.05", 124, 124.0/7 - 1},
		{"randk:0.1", "randk:0.1", 30, 9},  // 0.1·30 = 3.0000000000000004 must give K = 3, not 4
		{"randk:1.0", "randk:1.0", 124, 0}, // the whole vector
		{"randk:1e-9", "randk:1e-09", 124, 123},
		{"RandK: 0.5", "randk:0.5", 3, 0.5}, // ⌈1.5⌉ = 2
		{"dither:1", "dither:1", 100, 10},   // min(100, 10)
		{"dither:4", "dither:4", 100, 2.5},  // min(6.25, 2.5)
		{"dither:16", "dither:16", 100, 100.0 / 256},
		{"natural", "natural", 7, 0.125},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			c, err := Parse(tt.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			if c.Name() != tt.name {
				t.Errorf("Name() = %q, want %q", c.Name(), tt.name)
			}
			if got := c.Omega(tt.d); math.Abs(got-tt.omega) > 1e-12 {
				t.Errorf("Omega(%d) = %v, want %v", tt.d, got, tt.omega)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{
		"", "zip", "randk", "randk:", "randk:0", "randk:-3", "randk:0.0", "randk:1.5", "randk:5.0",
		"randk:NaN", "randk:Inf", "randk:abc", "randk:99999999999", "dither", "dither:0", "dither:-1",
		"dither:2.5", "dither:99999999999", "natural:3", "none:1", "randk:10:3",
	} {
		if c, err := Parse(spec); !errors.Is(err, ErrSpec) {
			t.Errorf("Parse(%q) = %v, %v; want an error wrapping ErrSpec", spec, c, err)
		}
	}
}

// FuzzParse checks that Parse never panics, that any accepted spec has a canonical name that parses back
// to the same compressor, a sane ω, and produces valid vectors.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"none", "randk:10", "randk:0.05", "randk:1.0", "dither:4", "natural", "randk:1e-3", "dither:"} {
		f.Add(s)
	}
	v := []float64{3, -1, 0, 0.25, 1e-300, -7e10, 2}
	f.Fuzz(func(t *testing.T, spec string) {
		c, err := Parse(spec)
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrSpec", spec, err)
			}
			return
		}
		again, err := Parse(c.Name())
		if err != nil || again.Name() != c.Name() {
			t.Fatalf("Parse(%q).Name() = %q does not round-trip: %v", spec, c.Name(), err)
		}
		for _, d := range []int{0, 1, 7, 1000} {
			if w := c.Omega(d); !(w >= 0) || math.IsInf(w, 0) || w != again.Omega(d) {
				t.Fatalf("%s: Omega(%d) = %v", c.Name(), d, w)
			}
		}
		q := c.Compress(v, rng.New(1, 2, rng.Compress, 3))
		if err := q.Validate(len(v)); err != nil {
			t.Fatalf("%s: invalid output: %v", c.Name(), err)
		}
	})
}
