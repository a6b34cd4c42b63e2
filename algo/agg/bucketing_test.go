package agg

import (
	"errors"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// recorder is an inner aggregator that keeps what it was given, to compare bucketing with a manual
// computation of the buckets.
type recorder struct {
	inputs [][]float64
	ctx    Context
}

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) Aggregate(inputs [][]float64, ctx Context) ([]float64, error) {
	r.inputs, r.ctx = cloneAll(inputs), ctx
	return median{}.Aggregate(inputs, ctx)
}

func TestBucketingMatchesManual(t *testing.T) {
	r := rng.New(14, 0, rng.Init, 0)
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(r, 30)
		s := 2 + rng.IntN(r, 5)
		f := rng.IntN(r, n)
		inputs := randomInputs(r, n, 1+rng.IntN(r, 20), trial)
		rec := &recorder{}
		got, err := Bucketing(rec, s).Aggregate(inputs, Context{Rand: rng.New(3, uint64(trial), rng.Bucket, 0), Byzantine: f})
		if err != nil {
			t.Fatal(err)
		}
		// Manually: the same permutation, consecutive groups of s, each averaged over its actual size.
		perm := rng.Perm(rng.New(3, uint64(trial), rng.Bucket, 0), n)
		var buckets [][]float64
		for start := 0; start < n; start += s {
			members := perm[start:min(start+s, n)]
			y := make([]float64, len(inputs[0]))
			for _, i := range members {
				for c := range y {
					y[c] += inputs[i][c] / float64(len(members))
				}
			}
			buckets = append(buckets, y)
		}
		if len(rec.inputs) != (n+s-1)/s || len(buckets) != len(rec.inputs) {
			t.Fatalf("n=%d s=%d: %d buckets, want %d", n, s, len(rec.inputs), (n+s-1)/s)
		}
		for l := range buckets {
			if !closeTo(rec.inputs[l], buckets[l], 1e-15, 1+maxAbs(inputs)) {
				t.Fatalf("trial %d: bucket %d = %v, want %v", trial, l, rec.inputs[l], buckets[l])
			}
		}
		if want := min(f, len(buckets)); rec.ctx.Byzantine != want {
			t.Fatalf("inner Byzantine = %d, want min(%d, %d)", rec.ctx.Byzantine, f, len(buckets))
		}
		want, _ := median{}.Aggregate(rec.inputs, Context{})
		if !bitsEqual(got, want) {
			t.Fatal("bucketing did not return the inner aggregate of its buckets")
		}
	}
}

func TestBucketingBasics(t *testing.T) {
	if a := Bucketing(median{}, 1); a.Name() != "cm" {
		t.Errorf("Bucketing(cm, 1) = %s, want cm itself", a.Name())
	}
	if a := Bucketing(median{}, -4); a.Name() != "cm" {
		t.Errorf("Bucketing(cm, -4) = %s, want cm itself", a.Name())
	}
	if a := Bucketing(krum{m: 2}, 3); a.Name() != "bucket3(mkrum:2)" {
		t.Errorf("name %s", a.Name())
	}
	_, err := Bucketing(median{}, 2).Aggregate([][]float64{{1}, {2}}, Context{})
	if !errors.Is(err, ErrNoRandom) {
		t.Errorf("no Rand: %v, want ErrNoRandom", err)
	}
	// Different permutation streams give different buckets (and, here, different medians).
	in := [][]float64{{0}, {1}, {10}, {100}, {1000}, {5000}}
	seen := map[float64]bool{}
	for round := uint64(0); round < 20; round++ {
		out, err := Bucketing(median{}, 2).Aggregate(in, testContext(round, 0))
		if err != nil {
			t.Fatal(err)
		}
		seen[out[0]] = true
	}
	if len(seen) < 2 {
		t.Error("bucketing ignored its permutation stream")
	}
}
