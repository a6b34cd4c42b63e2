package agg

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// TestAggregateIntoMatchesAggregate: AggregateInto gives Aggregate's result bit for bit (or the same
// error), for every aggregator, reusing one Scratch across calls of different shapes.
func TestAggregateIntoMatchesAggregate(t *testing.T) {
	var s Scratch
	specs := append(slices.Clone(allSpecs), "bucket2(mean)", "bucket3(cm)", "bucket2(bucket2(cm))")
	for _, spec := range specs {
		a := mustParse(t, spec)
		for trial := range 60 {
			r := rng.New(9, uint64(trial), rng.Attack, 0)
			n, d := 1+trial%9, 1+(trial*7)%300
			inputs := randomInputs(r, n, d, trial)
			want, werr := a.Aggregate(inputs, testContext(uint64(trial), 2))
			dst := make([]float64, d)
			gerr := AggregateInto(a, dst, inputs, testContext(uint64(trial), 2), &s)
			if (werr == nil) != (gerr == nil) || (werr != nil && !errors.Is(gerr, ErrNonFinite) && werr.Error() != gerr.Error()) {
				t.Fatalf("%s trial %d: AggregateInto error %v, Aggregate %v", spec, trial, gerr, werr)
			}
			if werr != nil {
				continue
			}
			for c := range want {
				if math.Float64bits(dst[c]) != math.Float64bits(want[c]) {
					t.Fatalf("%s trial %d coordinate %d: AggregateInto %v, Aggregate %v", spec, trial, c, dst[c], want[c])
				}
			}
		}
	}
}

func TestAggregateIntoAllocatesNothing(t *testing.T) {
	a := mustParse(t, "bucket2(cm)")
	r := rng.New(1, 1, rng.Attack, 0)
	inputs := randomInputs(r, 4, 123, 0)
	dst := make([]float64, 123)
	var s Scratch
	var st rng.Stream
	allocs := testing.AllocsPerRun(100, func() {
		ctx := Context{Rand: st.Reset(1, 2, rng.Bucket, 0), Byzantine: 1}
		if err := AggregateInto(a, dst, inputs, ctx, &s); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("bucket2(cm) AggregateInto: %v allocations", allocs)
	}
}
