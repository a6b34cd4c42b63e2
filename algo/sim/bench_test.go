package sim

import (
	"context"
	"testing"
)

// fig1PartialSpec is the Figure-1 middle panel's partial series (C = 4 of 20, the authors' schedule)
// for one seed; rounds 0 means two epochs (10,186 rounds).
func fig1PartialSpec(b testing.TB, rounds int) Spec {
	s := Default()
	s.Schedule = 1000
	if rounds == 0 {
		st, err := Build(s, nil)
		if err != nil {
			b.Fatal(err)
		}
		rounds = RoundsForEpochs(st, 2)
	}
	s.Rounds = rounds
	return s
}

// BenchmarkFig1Partial is one seed of `testnet sim --schedule 1000 --epochs 2`: loading a9a, f*, 10,186
// rounds with the objective every 25 rounds, in a fresh cache every iteration.
func BenchmarkFig1Partial(b *testing.B) {
	s := fig1PartialSpec(b, 0)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(context.Background(), s, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
