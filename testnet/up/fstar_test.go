package up

import (
	"context"
	"math"
	"testing"

	"github.com/byzpp/byzpp/testnet/curves"
)

// TestReplayWithoutFStar: a replay for a genesis without f* (--no-fstar) is the same run with NaN gaps
// — the same losses, test columns and final state — so the network's curve still compares number
// for number.
func TestReplayWithoutFStar(t *testing.T) {
	spec := smallSpec(4, 1, "shb", 20)
	with, wantFinal, err := simReplay(context.Background(), "run", spec, true)
	if err != nil {
		t.Fatal(err)
	}
	without, final, err := simReplay(context.Background(), "run", spec, false)
	if err != nil {
		t.Fatal(err)
	}
	if final.Digest() != wantFinal.Digest() {
		t.Fatal("the replay without f* ends on another state")
	}
	if len(without) != len(with) {
		t.Fatalf("%d points, want %d", len(without), len(with))
	}
	for i, r := range without {
		if !math.IsNaN(r.Gap) {
			t.Errorf("point %d: gap %v without f*", i, r.Gap)
		}
		if math.IsNaN(with[i].Gap) {
			t.Errorf("point %d: no gap with f*", i)
		}
		r.Gap = with[i].Gap
		if ok, where := SameRows(with[i:i+1], []curves.Row{r}); !ok {
			t.Errorf("point %d differs: %s", i, where)
		}
		if w := with[i]; math.Float64bits(r.TestLoss) != math.Float64bits(w.TestLoss) || r.TestAccuracy != w.TestAccuracy {
			t.Errorf("point %d: held-out %v/%v, want %v/%v", i, r.TestLoss, r.TestAccuracy, w.TestLoss, w.TestAccuracy)
		}
	}
}
