package rng

import (
	"slices"
	"testing"
)

// floydSorted is Sample's small-k algorithm as first written: Floyd's draws, then a sort. SampleInto
// must give exactly its results (the draws pick every minibatch and sample of every run).
func floydSorted(seed uint64, n, k int) []int {
	r := New(seed, 0, Minibatch, 0)
	var out []int
	for j := n - k; j < n; j++ {
		t := IntN(r, j+1)
		if slices.Contains(out, t) {
			t = j
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func TestSampleIntoMatchesFloydSorted(t *testing.T) {
	var buf []int
	for seed := range uint64(300) {
		for _, nk := range [][2]int{{32561, 32}, {20, 4}, {20, 20}, {5, 5}, {40, 39}, {1000, 256}, {3, 1}, {300, 200}} {
			n, k := nk[0], nk[1]
			want := floydSorted(seed, n, k)
			buf = SampleInto(buf, New(seed, 0, Minibatch, 0), n, k)
			if !slices.Equal(buf, want) {
				t.Fatalf("seed %d, n %d, k %d: SampleInto %v, want %v", seed, n, k, buf, want)
			}
			var st Stream
			if got := st.SampleInto(nil, seed, 0, Minibatch, 0, n, k); !slices.Equal(got, want) {
				t.Fatalf("seed %d, n %d, k %d: Stream.SampleInto %v, want %v", seed, n, k, got, want)
			}
			if got := Sample(New(seed, 0, Minibatch, 0), n, k); !slices.Equal(got, want) {
				t.Fatalf("seed %d, n %d, k %d: Sample %v, want %v", seed, n, k, got, want)
			}
		}
	}
}

func BenchmarkSampleMinibatch(b *testing.B) {
	var s Stream
	var buf []int
	k := uint64(0)
	for b.Loop() {
		k++
		buf = s.SampleInto(buf, 1, k, Minibatch, 0, 32561, 32)
	}
}

func TestStreamAndPermIntoMatchNewAndPerm(t *testing.T) {
	var s Stream
	var buf []int
	for seed := range uint64(50) {
		for _, p := range []Purpose{Coin, Bucket, Minibatch, Attack} {
			a, b := New(seed, seed*7, p, 3), s.Reset(seed, seed*7, p, 3)
			for range 20 {
				if x, y := a.Uint64(), b.Uint64(); x != y {
					t.Fatalf("seed %d purpose %d: Stream gives %d, New %d", seed, p, y, x)
				}
			}
			n := int(seed % 23)
			want := Perm(New(seed, 1, p, 0), n)
			buf = PermInto(buf, s.Reset(seed, 1, p, 0), n)
			if !slices.Equal(buf, want) {
				t.Fatalf("PermInto %v, Perm %v", buf, want)
			}
		}
	}
	if testing.AllocsPerRun(100, func() { s.Reset(1, 2, Bucket, 3).Uint64() }) != 0 {
		t.Error("Stream.Reset allocates")
	}
}
