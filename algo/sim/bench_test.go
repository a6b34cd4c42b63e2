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

// BenchmarkFig1PartialRounds is the rounds of BenchmarkFig1Partial alone: 1000 of them, recording
// only the last (the setup, f* and the data are prepared once, outside the timing).
func BenchmarkFig1PartialRounds(b *testing.B) {
	s := fig1PartialSpec(b, 1000)
	s.EvalEvery = 1 << 30
	s.TestData = NoTestData
	st, err := Build(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := NewRunner(st, 0).Run(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFig1PartialSetup is what a run does before its first round: Build (data from a fresh cache),
// f* (from its cache), the runner and its packed data, the held-out set.
func BenchmarkFig1PartialSetup(b *testing.B) {
	s := fig1PartialSpec(b, 1000)
	for b.Loop() {
		cache := &DataCache{}
		st, err := Build(s, cache)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.FStar(); err != nil {
			b.Fatal(err)
		}
		r := NewRunner(st, 0)
		if r.Test, err = cache.LoadTest(&st.Spec, st.Dataset, st.Model); err != nil {
			b.Fatal(err)
		}
	}
}
