package agg

import (
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// benchInputs caches, per dimension, 100 distinct random vectors; the n = 20 cases use the first 20.
// At d = 1e6 that is 800 MB, built once per run.
var benchInputs = map[int][][]float64{}

func inputsFor(n, d int) [][]float64 {
	all, ok := benchInputs[d]
	if !ok {
		r := rng.New(1, uint64(d), rng.Init, 0)
		all = make([][]float64, 100)
		for i := range all {
			all[i] = make([]float64, d)
			for c := range all[i] {
				all[i][c] = rng.Float64(r) - 0.5
			}
		}
		benchInputs[d] = all
	}
	return all[:n]
}

// BenchmarkAggregate/<spec>/n=<n>/d=<d> measures one aggregation with f = n/4 Byzantine inputs assumed.
func BenchmarkAggregate(b *testing.B) {
	for _, spec := range []string{"mean", "cm", "tm", "krum", "mkrum:5", "gm", "cclip", "bucket2(cm)"} {
		a := mustParse(b, spec)
		for _, n := range []int{20, 100} {
			for _, d := range []int{124, 100_000, 1_000_000} {
				b.Run(spec+"/n="+itoa(n)+"/d="+itoa(d), func(b *testing.B) {
					inputs := inputsFor(n, d)
					b.ReportAllocs()
					b.SetBytes(int64(8 * n * d))
					round := uint64(0)
					for b.Loop() {
						round++
						if _, err := a.Aggregate(inputs, testContext(round, n/4)); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
