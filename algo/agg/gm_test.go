package agg

import (
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// objective is Σ‖z − v_i‖, the quantity the geometric median minimises.
func objective(z []float64, inputs [][]float64) float64 {
	var s float64
	for _, v := range inputs {
		var d float64
		for c := range v {
			d += (z[c] - v[c]) * (z[c] - v[c])
		}
		s += math.Sqrt(d)
	}
	return s
}

// weiszfeldByDefinition is the smoothed Weiszfeld iteration of METHOD.md, written out directly.
func weiszfeldByDefinition(inputs [][]float64, iters int, nu float64) []float64 {
	z := make([]float64, len(inputs[0]))
	for t := 0; t < iters; t++ {
		num := make([]float64, len(z))
		var den float64
		for _, v := range inputs {
			var d float64
			for c := range v {
				d += (z[c] - v[c]) * (z[c] - v[c])
			}
			w := 1 / math.Max(nu, math.Sqrt(d))
			den += w
			for c := range v {
				num[c] += w * v[c]
			}
		}
		for c := range z {
			z[c] = num[c] / den
		}
	}
	return z
}

func TestGMMatchesDefinition(t *testing.T) {
	r := rng.New(9, 0, rng.Init, 0)
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(r, 20)
		inputs := randomInputs(r, n, 1+rng.IntN(r, 30), []int{0, 1, 2, 5}[trial%4])
		g := geoMedian{iters: 1 + rng.IntN(r, 12), nu: []float64{0.1, 1e-3, 2}[trial%3]}
		got, err := g.Aggregate(inputs, Context{})
		if err != nil {
			t.Fatal(err)
		}
		if want := weiszfeldByDefinition(inputs, g.iters, g.nu); !closeTo(got, want, 1e-12, 1+maxAbs(inputs)) {
			t.Fatalf("trial %d: gm = %v, definition %v", trial, got, want)
		}
	}
}

// In one dimension the geometric median of an odd number of points is their median: compare objectives
// with a minimiser known in closed form.
func TestGMOneDimensionIsMedian(t *testing.T) {
	r := rng.New(10, 0, rng.Init, 0)
	g := geoMedian{iters: 3000, nu: 1e-12}
	for trial := 0; trial < 50; trial++ {
		n := 1 + 2*rng.IntN(r, 8)
		inputs := randomInputs(r, n, 1, 0)
		z, err := g.Aggregate(inputs, Context{})
		if err != nil {
			t.Fatal(err)
		}
		med := []float64{selectKth(column(inputs, 0), n/2)}
		if got, best := objective(z, inputs), objective(med, inputs); got > best+1e-6*(1+best) {
			t.Fatalf("trial %d: objective %v at %v, median %v has %v", trial, got, z, med, best)
		}
	}
}

// compassSearch minimises the convex objective by a different method than Weiszfeld: pattern search
// along the axes and diagonals with a shrinking step, restarted from every input point and the mean.
func compassSearch(inputs [][]float64) float64 {
	d := len(inputs[0])
	starts := append([][]float64{}, inputs...)
	mean := make([]float64, d)
	for _, v := range inputs {
		for c := range v {
			mean[c] += v[c] / float64(len(inputs))
		}
	}
	starts = append(starts, mean)
	var dirs [][]float64
	for c := 0; c < d; c++ {
		for _, s := range []float64{1, -1} {
			e := make([]float64, d)
			e[c] = s
			dirs = append(dirs, e)
		}
	}
	if d == 2 {
		dirs = append(dirs, [][]float64{{1, 1}, {1, -1}, {-1, 1}, {-1, -1}}...)
	}
	best := math.Inf(1)
	for _, s := range starts {
		z := append([]float64{}, s...)
		fz := objective(z, inputs)
		for step := 1 + maxAbs(inputs); step > 1e-12; {
			improved := false
			for _, e := range dirs {
				y := append([]float64{}, z...)
				for c := range y {
					y[c] += step * e[c]
				}
				if fy := objective(y, inputs); fy < fz {
					z, fz, improved = y, fy, true
				}
			}
			if !improved {
				step /= 2
			}
		}
		best = math.Min(best, fz)
	}
	return best
}

func TestGMMatchesCompassSearch(t *testing.T) {
	r := rng.New(11, 0, rng.Init, 0)
	g := geoMedian{iters: 2000, nu: 1e-12}
	for trial := 0; trial < 40; trial++ {
		n := 2 + rng.IntN(r, 10)
		inputs := randomInputs(r, n, 2, []int{0, 1, 3}[trial%3])
		z, err := g.Aggregate(inputs, Context{})
		if err != nil {
			t.Fatal(err)
		}
		got, best := objective(z, inputs), compassSearch(inputs)
		if got > best+1e-6*(1+best) {
			t.Fatalf("trial %d: Weiszfeld objective %v, compass search %v", trial, got, best)
		}
	}
}

// Converged with many iterations, the result is no worse than any input point, the mean or the
// coordinate-wise median, in any dimension.
func TestGMNoWorseThanCandidates(t *testing.T) {
	r := rng.New(12, 0, rng.Init, 0)
	g := geoMedian{iters: 1000, nu: 1e-12}
	for trial := 0; trial < 60; trial++ {
		n := 2 + rng.IntN(r, 15)
		inputs := randomInputs(r, n, 1+rng.IntN(r, 10), []int{0, 1, 3, 4}[trial%4])
		z, err := g.Aggregate(inputs, Context{})
		if err != nil {
			t.Fatal(err)
		}
		candidates := append([][]float64{}, inputs...)
		m, _ := mean{}.Aggregate(inputs, Context{})
		cm, _ := median{}.Aggregate(inputs, Context{})
		candidates = append(candidates, m, cm)
		got := objective(z, inputs)
		for k, c := range candidates {
			if f := objective(c, inputs); got > f+1e-6*(1+f) {
				t.Fatalf("trial %d: objective %v worse than candidate %d's %v", trial, got, k, f)
			}
		}
	}
}
