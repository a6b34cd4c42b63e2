package model

import (
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/data"
)

// checkScorer compares Scorer.Loss and Score with Loss and Accuracy bit for bit at several points.
func checkScorer(t *testing.T, name string, m Model, d *data.Dataset, trie bool) {
	t.Helper()
	s := NewScorer(m, d)
	checkScorerOf(t, name, m, s, []*data.Dataset{d}, trie)
}

func checkScorerOf(t *testing.T, name string, m Model, s *Scorer, ds []*data.Dataset, trie bool) {
	t.Helper()
	if (s.lr != nil) != trie {
		t.Fatalf("%s: trie used = %v, want %v", name, s.lr != nil, trie)
	}
	for i, scale := range []float64{0, 1e-3, 0.3, 3, 40, 800} {
		x := randomPoint(uint64(100+i), m.Dim(), scale)
		if i == 1 {
			x[0] = math.Copysign(0, -1)
		}
		losses, accs := make([]float64, len(ds)), make([]float64, len(ds))
		s.Scores(x, losses, accs)
		for j, d := range ds {
			want := m.Loss(x, d, nil)
			wantAcc := Accuracy(m, x, d)
			if math.Float64bits(losses[j]) != math.Float64bits(want) || math.Float64bits(accs[j]) != math.Float64bits(wantAcc) {
				t.Fatalf("%s, data set %d, scale %g: scorer %v / %v, Loss %v, Accuracy %v", name, j, scale, losses[j], accs[j], want, wantAcc)
			}
		}
		got := s.Loss(x)
		loss, acc := s.Score(x)
		if math.Float64bits(got) != math.Float64bits(losses[0]) || math.Float64bits(loss) != math.Float64bits(losses[0]) ||
			math.Float64bits(acc) != math.Float64bits(accs[0]) {
			t.Fatalf("%s, scale %g: Loss %v, Score %v %v, Scores %v %v", name, scale, got, loss, acc, losses[0], accs[0])
		}
	}
}

func TestScorerMatchesLossA9A(t *testing.T) {
	for _, name := range []string{"a9a", "a9a.t"} {
		d, err := data.Load(name, data.ReadOptions{Features: 123})
		if err != nil {
			t.Fatal(err)
		}
		m := NewLogReg(123, 0.01)
		checkScorer(t, name+" raw", m, d, true)
		d.NormalizeRows()
		checkScorer(t, name+" normalised", m, d, true)
		// Part of the rows (fewer than a chunk, and not a multiple of it).
		checkScorer(t, name+" 3000 rows", m, d.Subset(seq(3000)), true)
		checkScorer(t, name+" 9000 rows", m, d.Subset(seq(9000)), true)
		checkScorer(t, name+" mlp", NewMLP(123, 3, 0.01), d.Subset(seq(5000)), false)
	}
	// Both at once, sharing their trie, and a subset beside them.
	a, _ := data.Load("a9a", data.ReadOptions{Features: 123})
	b, _ := data.Load("a9a.t", data.ReadOptions{Features: 123})
	a.NormalizeRows()
	b.NormalizeRows()
	m := NewLogReg(123, 0.01)
	ds := []*data.Dataset{a, b, b.Subset(seq(5000))}
	s := NewScorer(m, ds...)
	t.Logf("a9a + a9a.t: %d nodes, %d leaves", len(s.nodes)-1, len(s.leaves))
	checkScorerOf(t, "a9a + a9a.t", m, s, ds, true)
	checkScorerOf(t, "mlp, two sets", NewMLP(123, 3, 0.01), NewScorer(NewMLP(123, 3, 0.01), ds[2], ds[2].Subset(seq(100))), []*data.Dataset{ds[2], ds[2].Subset(seq(100))}, false)
}

func TestScorerMatchesLossRandom(t *testing.T) {
	// Normal values: every nonzero distinct, a product table of 10·nnz entries; two chunks.
	d := randomDataset(5, 5000, 10, 0.5)
	checkScorer(t, "random", NewLogReg(10, 0.1), d, true)
	// Empty rows, repeated rows, a model wider than the data.
	e := &data.Dataset{Name: "e", Features: 3, Indptr: []int{0, 0, 2, 2, 4, 6}, Indices: []int32{0, 2, 0, 2, 0, 1},
		Values: []float64{1, -2, 1, -2, 1, 0.5}, Labels: []float64{1, 0, 0, 1, 1}}
	checkScorer(t, "small", NewLogReg(5, 0), e, true)
	// A label −0 (Validate allows it): falls back.
	e.Labels[1] = math.Copysign(0, -1)
	checkScorer(t, "label −0", NewLogReg(5, 0), e, false)
	// Too many distinct values for the product table: falls back.
	big := randomDataset(6, 3000, 600, 0.5)
	checkScorer(t, "fallback", NewLogReg(600, 0.1), big, false)
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func BenchmarkScorerA9A(b *testing.B) {
	d := normalizedA9A(b)
	m := NewLogReg(d.Features, 0.01)
	x := benchPoint(d.Features)
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			NewScorer(m, d)
		}
	})
	s := NewScorer(m, d)
	b.Run("loss", func(b *testing.B) {
		for b.Loop() {
			s.Loss(x)
		}
	})
	b.Run("score", func(b *testing.B) {
		for b.Loop() {
			s.Score(x)
		}
	})
	b.Run("Loss+Accuracy", func(b *testing.B) {
		for b.Loop() {
			m.Loss(x, d, nil)
			Accuracy(m, x, d)
		}
	})
}

// BenchmarkScorerFig1 is what a Figure-1 run computes at every recorded point: the loss and accuracy on
// a9a.t and the loss on a9a, through one Scorer ("scorer") or through Loss and Accuracy ("plain").
func BenchmarkScorerFig1(b *testing.B) {
	train := normalizedA9A(b)
	test, err := data.Load("a9a.t", data.ReadOptions{Features: 123})
	if err != nil {
		b.Fatal(err)
	}
	test.NormalizeRows()
	m := NewLogReg(123, 0.01)
	x := benchPoint(123)
	s := NewScorer(m, test, train)
	losses, acc := make([]float64, 2), make([]float64, 1)
	b.Run("scorer", func(b *testing.B) {
		for b.Loop() {
			s.Scores(x, losses, acc)
		}
	})
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			m.Loss(x, train, nil)
			m.Loss(x, test, nil)
			Accuracy(m, x, test)
		}
	})
}
