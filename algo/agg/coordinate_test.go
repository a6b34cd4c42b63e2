package agg

import (
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

func itoa(n int) string { return strconv.Itoa(n) }

// medianByCounting is the coordinate-wise median straight from its definition: the lower middle value
// is the x among the inputs with fewer than ⌈N/2⌉ values below it and at least ⌈N/2⌉ at or below it;
// the upper middle one likewise for rank ⌊N/2⌋ + 1.
func medianByCounting(inputs [][]float64) []float64 {
	n := len(inputs)
	out := make([]float64, len(inputs[0]))
	rankValue := func(col []float64, rank int) float64 { // rank is 1-based
		for _, x := range col {
			var below, atMost int
			for _, y := range col {
				if y < x {
					below++
				}
				if y <= x {
					atMost++
				}
			}
			if below < rank && atMost >= rank {
				return x
			}
		}
		panic("no value of that rank")
	}
	for c := range out {
		col := column(inputs, c)
		lo, hi := rankValue(col, (n+1)/2), rankValue(col, n/2+1)
		out[c] = (lo + hi) / 2
	}
	return out
}

// trimmedByRemoval is the trimmed mean by its definition: b times remove one largest and one smallest
// value, then average what is left.
func trimmedByRemoval(inputs [][]float64, b int) []float64 {
	out := make([]float64, len(inputs[0]))
	for c := range out {
		col := column(inputs, c)
		for k := 0; k < b; k++ {
			col = slices.Delete(col, slices.Index(col, slices.Max(col)), slices.Index(col, slices.Max(col))+1)
			col = slices.Delete(col, slices.Index(col, slices.Min(col)), slices.Index(col, slices.Min(col))+1)
		}
		var s float64
		for _, x := range col {
			s += x
		}
		out[c] = s / float64(len(col))
	}
	return out
}

func TestMedianMatchesDefinition(t *testing.T) {
	r := rng.New(3, 0, rng.Init, 0)
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.IntN(r, 40)
		inputs := randomInputs(r, n, 1+rng.IntN(r, 300), trial)
		got, err := median{}.Aggregate(inputs, Context{})
		if err != nil {
			t.Fatal(err)
		}
		want := medianByCounting(inputs)
		for c := range want {
			if got[c] != want[c] { // == on purpose: ±0 are the same median
				t.Fatalf("trial %d (n=%d, shape %d), coordinate %d: cm = %v, definition %v", trial, n, trial%6, c, got[c], want[c])
			}
			if math.Signbit(got[c]) && got[c] == 0 {
				t.Fatalf("cm returned −0, which must be normalised to +0")
			}
		}
	}
}

func TestMedianTable(t *testing.T) {
	tests := []struct {
		inputs [][]float64
		want   []float64
	}{
		{[][]float64{{1}, {3}, {2}}, []float64{2}},
		{[][]float64{{1}, {4}, {2}, {3}}, []float64{2.5}},
		{[][]float64{{5, -1}, {5, 7}}, []float64{5, 3}},
		{[][]float64{{0}, {100}, {100}, {-100}, {1e9}}, []float64{100}},
		{[][]float64{{math.MaxFloat64}, {math.MaxFloat64}}, []float64{math.MaxFloat64}},
	}
	for _, tt := range tests {
		got, err := median{}.Aggregate(tt.inputs, Context{})
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("cm(%v) = %v, %v; want %v", tt.inputs, got, err, tt.want)
		}
	}
}

func TestTrimmedMatchesDefinition(t *testing.T) {
	r := rng.New(4, 0, rng.Init, 0)
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.IntN(r, 30)
		f := rng.IntN(r, n+3) - 1 // includes negative and beyond ⌊(N−1)/2⌋
		inputs := randomInputs(r, n, 1+rng.IntN(r, 100), trial)
		got, err := trimmed{}.Aggregate(inputs, Context{Byzantine: f})
		if err != nil {
			t.Fatal(err)
		}
		want := trimmedByRemoval(inputs, max(0, min(f, (n-1)/2)))
		if !closeTo(got, want, 1e-14, maxAbs(inputs)) {
			t.Fatalf("trial %d (n=%d, f=%d): tm = %v, definition %v", trial, n, f, got, want)
		}
	}
}

// The trimmed mean sums its kept values in ascending order, so permuting the inputs changes no bit.
func TestCoordinateWiseIgnoreInputOrder(t *testing.T) {
	r := rng.New(5, 0, rng.Init, 0)
	for trial := 0; trial < 50; trial++ {
		n := 2 + rng.IntN(r, 30)
		inputs := randomInputs(r, n, 50, trial)
		perm := rng.Perm(r, n)
		shuffled := make([][]float64, n)
		for i, p := range perm {
			shuffled[i] = inputs[p]
		}
		for _, a := range []Aggregator{median{}, trimmed{}} {
			x, _ := a.Aggregate(inputs, Context{Byzantine: 2})
			y, _ := a.Aggregate(shuffled, Context{Byzantine: 2})
			if !bitsEqual(x, y) {
				t.Fatalf("%s depends on the input order", a.Name())
			}
		}
	}
}

func TestTrimmedTable(t *testing.T) {
	in := [][]float64{{1}, {2}, {3}, {4}, {100}}
	for _, tt := range []struct {
		f    int
		want float64
	}{{0, 22}, {1, 3}, {2, 3}, {9, 3}, {-1, 22}} {
		got, err := trimmed{}.Aggregate(in, Context{Byzantine: tt.f})
		if err != nil || got[0] != tt.want {
			t.Errorf("tm f=%d = %v, %v; want %v", tt.f, got, err, tt.want)
		}
	}
}

func TestSelectKth(t *testing.T) {
	r := rng.New(6, 0, rng.Init, 0)
	for trial := 0; trial < 2000; trial++ {
		n := 1 + rng.IntN(r, 200)
		a := make([]float64, n)
		for i := range a {
			switch trial % 4 {
			case 0:
				a[i] = rng.Normal(r)
			case 1:
				a[i] = float64(rng.IntN(r, 4))
			case 2: // sorted: a bad case for naive pivots
				a[i] = float64(i)
			case 3: // organ pipe
				a[i] = float64(min(i, n-i))
			}
		}
		sorted := slices.Clone(a)
		slices.Sort(sorted)
		k := rng.IntN(r, n)
		if got := selectKth(a, k); got != sorted[k] {
			t.Fatalf("selectKth(k=%d) = %v, want %v", k, got, sorted[k])
		}
		for i := range a {
			if (i < k && a[i] > a[k]) || (i > k && a[i] < a[k]) {
				t.Fatalf("not partitioned around k=%d at %d", k, i)
			}
		}
		got := slices.Clone(a)
		slices.Sort(got)
		if !slices.Equal(got, sorted) {
			t.Fatal("selectKth lost or invented values")
		}
	}
}

func TestSortFloats(t *testing.T) {
	r := rng.New(16, 0, rng.Init, 0)
	for trial := 0; trial < 500; trial++ {
		n := rng.IntN(r, 60)
		a := randomInputs(r, 1, max(n, 1), trial)[0][:n]
		a = append(a, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, math.Copysign(0, -1), 0)
		want := slices.Clone(a)
		slices.Sort(want)
		sortFloats(a, make([]uint64, len(a)))
		if !slices.Equal(a, want) {
			t.Fatalf("sortFloats = %v, want %v", a, want)
		}
		for i := 1; i < len(a); i++ {
			if a[i] == 0 && a[i-1] == 0 && math.Signbit(a[i]) && !math.Signbit(a[i-1]) {
				t.Fatal("+0 sorted before −0")
			}
		}
	}
}
