package compress

import (
	"strconv"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// BenchmarkCompress/<spec>/d=<d> measures one compression, including deriving the member's stream as
// the method does every round.
func BenchmarkCompress(b *testing.B) {
	for _, spec := range []string{"none", "randk:0.05", "randk:10", "dither:16", "natural"} {
		c := mustParse(b, spec)
		for _, d := range []int{124, 100_000, 1_000_000} {
			r := rng.New(1, 0, rng.Init, 0)
			v := make([]float64, d)
			for i := range v {
				v[i] = rng.Normal(r)
			}
			b.Run(spec+"/d="+strconv.Itoa(d), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(8 * d))
				round := uint64(0)
				for b.Loop() {
					round++
					_ = c.Compress(v, rng.New(1, round, rng.Compress, 3))
				}
			})
		}
	}
}
