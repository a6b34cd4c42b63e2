package node

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
)

// TestAdoptedRoundsCountInEpoch: a member that adopts a certified state still counts the adopted
// rounds' minibatches in its curve's epoch column, so its curve stays sim's number for number (a
// d = 1e6 testnet, whose slow members caught up at the last round, reported the last point's epoch
// short of sim's by that round).
func TestAdoptedRoundsCountInEpoch(t *testing.T) {
	skipShort(t)
	synctest.Test(t, func(t *testing.T) {
		const rounds = 20
		spec := adversarialSpec(4, rounds)
		r := runNet(t, netPlan{spec: spec, rounds: rounds, late: map[int]time.Duration{3: 10 * time.Second}})
		r.checkHonest(t)
		if _, ok := r.digests[3][1]; ok {
			t.Fatal("the late member decided round 1 itself: it adopted nothing")
		}
		st, err := sim.Build(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := 0.0
		for k := range uint64(rounds) {
			want += sim.EpochIncrement(st, st.Method.PlanRound(spec.Seed, k))
		}
		for i, nd := range r.nodes {
			c := nd.Status().Curve
			if len(c) == 0 || c[len(c)-1].Round != rounds {
				t.Fatalf("member %d: no point at round %d", i, rounds)
			}
			if got := float64(c[len(c)-1].Epoch); got != want {
				t.Errorf("member %d: epoch %v at round %d, sim's %v", i, got, rounds, want)
			}
		}
	})
}
