package agg

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// FuzzAggregate feeds every aggregator arbitrary bit patterns (NaN, ±Inf, subnormals, extremes) as a
// Byzantine member could: no panic, errors only with a sentinel and only for non-finite input, and a
// finite result of the right length otherwise.
func FuzzAggregate(f *testing.F) {
	f.Add(uint8(3), uint8(2), uint8(1), []byte("0123456789abcdef0123456789abcdef0123456789abcdef"))
	f.Add(uint8(4), uint8(1), uint8(9), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0x7f})
	f.Fuzz(func(t *testing.T, n, d, byz uint8, raw []byte) {
		if n == 0 || d == 0 || n > 12 || d > 8 {
			return
		}
		inputs := make([][]float64, n)
		finite := true
		for i := range inputs {
			inputs[i] = make([]float64, d)
			for c := range inputs[i] {
				if len(raw) >= 8 {
					inputs[i][c] = math.Float64frombits(binary.LittleEndian.Uint64(raw))
					raw = raw[8:]
				}
				x := inputs[i][c]
				finite = finite && !math.IsNaN(x) && !math.IsInf(x, 0)
			}
		}
		for _, spec := range allSpecs {
			ctx := Context{Rand: rng.New(1, uint64(n), rng.Bucket, 0), Byzantine: int(byz) - 2}
			out, err := mustParse(t, spec).Aggregate(inputs, ctx)
			if !finite {
				if !errors.Is(err, ErrNonFinite) {
					t.Fatalf("%s accepted non-finite input: %v, %v", spec, out, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s failed on finite input: %v", spec, err)
			}
			if len(out) != int(d) {
				t.Fatalf("%s: output length %d, want %d", spec, len(out), d)
			}
			for _, x := range out {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("%s: non-finite output %v from finite inputs", spec, out)
				}
			}
		}
	})
}
