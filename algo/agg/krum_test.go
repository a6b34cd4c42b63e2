package agg

import (
	"runtime"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
	"github.com/byzpp/byzpp/algo/vec"
)

// krumByDefinition scores every input directly: all distances with vec.SqDist, the N − f − 2 (clamped to
// [1, N−1]) smallest summed in ascending order; then the m least scores, ties to the lower index, are
// averaged in index order.
func krumByDefinition(inputs [][]float64, f, m int) []float64 {
	n := len(inputs)
	neighbours := max(1, min(n-max(f, 0)-2, n-1))
	scores := make([]float64, n)
	for i := range inputs {
		var ds []float64
		for j := range inputs {
			if j != i {
				ds = append(ds, vec.SqDist(inputs[i], inputs[j]))
			}
		}
		slices.Sort(ds)
		for k := 0; k < neighbours && k < len(ds); k++ {
			scores[i] += ds[k]
		}
	}
	taken := make([]bool, n)
	for pick := 0; pick < min(m, n); pick++ {
		best := -1
		for i := range inputs {
			if !taken[i] && (best < 0 || scores[i] < scores[best]) {
				best = i
			}
		}
		taken[best] = true
	}
	var chosen [][]float64
	for i, ok := range taken {
		if ok {
			chosen = append(chosen, inputs[i])
		}
	}
	out := make([]float64, len(inputs[0]))
	for _, v := range chosen {
		vec.Axpy(1/float64(len(chosen)), v, out)
	}
	if len(chosen) == 1 {
		copy(out, chosen[0])
	}
	return out
}

func TestKrumMatchesDefinition(t *testing.T) {
	r := rng.New(7, 0, rng.Init, 0)
	for trial := 0; trial < 400; trial++ {
		n := 1 + rng.IntN(r, 25)
		f := rng.IntN(r, n+2) - 1
		m := 1 + rng.IntN(r, n+1)
		inputs := randomInputs(r, n, 1+rng.IntN(r, 40), trial)
		for _, k := range []krum{{m: 1}, {m: m}} {
			got, err := k.Aggregate(inputs, Context{Byzantine: f})
			if err != nil {
				t.Fatal(err)
			}
			if want := krumByDefinition(inputs, f, k.m); !bitsEqual(got, want) {
				t.Fatalf("trial %d (n=%d f=%d %s): got %v, definition %v", trial, n, f, k.Name(), got, want)
			}
		}
	}
}

func TestKrumTable(t *testing.T) {
	// Three clustered points and one far away: scoring over N − 0 − 2 = 2 neighbours, Krum picks the
	// cluster's centre point. (With f = 1 there is one neighbour, the three tie, and index 1 wins.)
	in := [][]float64{{100, 100}, {0, 1}, {0, 0}, {0, -1}}
	got, err := krum{m: 1}.Aggregate(in, Context{Byzantine: 0})
	if err != nil || !slices.Equal(got, []float64{0, 0}) {
		t.Errorf("krum = %v, %v; want [0 0]", got, err)
	}
	got, err = krum{m: 1}.Aggregate(in, Context{Byzantine: 1})
	if err != nil || !slices.Equal(got, []float64{0, 1}) {
		t.Errorf("krum f=1 = %v, %v; want [0 1]", got, err)
	}
	got, err = krum{m: 3}.Aggregate(in, Context{Byzantine: 1})
	if err != nil || !slices.Equal(got, []float64{0, 0}) {
		t.Errorf("mkrum:3 = %v, %v; want [0 0]", got, err)
	}
	// Ties go to the lower index.
	got, _ = krum{m: 1}.Aggregate([][]float64{{1}, {2}}, Context{})
	if got[0] != 1 {
		t.Errorf("krum tie → %v, want the first input", got)
	}
}

// The chunked, possibly parallel distance matrix is bit-identical to vec.SqDist for every pair, whether
// it runs on one goroutine or several.
func TestPairwiseDistancesExact(t *testing.T) {
	r := rng.New(8, 0, rng.Init, 0)
	for _, tc := range []struct{ n, d int }{{2, 1}, {5, 1000}, {7, 3 * distanceChunk}, {40, 6000}} {
		inputs := randomInputs(r, tc.n, tc.d, 0)
		if tc.n*(tc.n-1)/2*tc.d < parallelWork && tc.n == 40 {
			t.Fatalf("the n=40 case should take the parallel path")
		}
		for _, procs := range []int{1, 2, 5} {
			prev := runtime.GOMAXPROCS(procs)
			dist := pairwiseSqDist(inputs, tc.d)
			runtime.GOMAXPROCS(prev)
			for i := range inputs {
				for j := range inputs {
					want := 0.0
					if i != j {
						want = vec.SqDist(inputs[i], inputs[j])
					}
					if dist[i*tc.n+j] != want {
						t.Fatalf("n=%d d=%d procs=%d: dist[%d][%d] = %v, want %v", tc.n, tc.d, procs, i, j, dist[i*tc.n+j], want)
					}
				}
			}
		}
	}
}
