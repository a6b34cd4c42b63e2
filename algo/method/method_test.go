package method

import (
	"errors"
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/agg"
	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/vec"
)

func testConfig(t *testing.T, aggSpec string) *Config {
	t.Helper()
	a, err := agg.Parse(aggSpec)
	if err != nil {
		t.Fatal(err)
	}
	q, err := compress.Parse("none")
	if err != nil {
		t.Fatal(err)
	}
	c := &Config{Variant: VariantMarinaPP, Members: 20, Sampled: 4, Schedule: 1000, LR: 0.1, Lambda: 1,
		Batch: 32, Aggregator: a, Compressor: q, Byzantine: 5}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestValidateRejects(t *testing.T) {
	good := testConfig(t, "cm")
	cases := map[string]func(c *Config){
		"variant":      func(c *Config) { c.Variant = "sgd" },
		"members":      func(c *Config) { c.Members = 0 },
		"sampled>n":    func(c *Config) { c.Sampled = 21 },
		"lr nan":       func(c *Config) { c.LR = math.NaN() },
		"lr inf":       func(c *Config) { c.LR = math.Inf(1) },
		"lambda zero":  func(c *Config) { c.Lambda = 0 },
		"p":            func(c *Config) { c.Schedule = 0; c.P = 1.5 },
		"batch":        func(c *Config) { c.Batch = 0 },
		"momentum":     func(c *Config) { c.Momentum = 1 },
		"no agg":       func(c *Config) { c.Aggregator = nil },
		"no compress":  func(c *Config) { c.Compressor = nil },
		"negative byz": func(c *Config) { c.Byzantine = -1 },
	}
	for name, edit := range cases {
		c := *good
		edit(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Validate() = %v, want ErrConfig", name, err)
		}
	}
}

func TestPlanRound(t *testing.T) {
	c := testConfig(t, "cm")
	full := 0
	for k := uint64(0); k < 5000; k++ {
		p := c.PlanRound(7, k)
		again := c.PlanRound(7, k)
		if p.Full != again.Full || len(p.Sample) != len(again.Sample) {
			t.Fatalf("round %d: plan not reproducible", k)
		}
		if p.Full != (k%1000 == 0) {
			t.Fatalf("round %d: full = %v with schedule 1000", k, p.Full)
		}
		want := 4
		if p.Full {
			want = 20
			full++
		}
		if len(p.Sample) != want {
			t.Fatalf("round %d: sample %v, want %d members", k, p.Sample, want)
		}
		for i, m := range p.Sample {
			if m < 0 || m >= 20 || (i > 0 && m <= p.Sample[i-1]) || !p.Contains(m) {
				t.Fatalf("round %d: bad sample %v", k, p.Sample)
			}
		}
	}
	if full != 5 {
		t.Errorf("%d full rounds in 5000 with schedule 1000, want 5", full)
	}
	// Bernoulli coin: round 0 is always full, the rest with probability p.
	c.Schedule, c.P = 0, 0.1
	if !c.PlanRound(3, 0).Full {
		t.Error("round 0 must be full")
	}
	full = 0
	for k := uint64(1); k <= 20000; k++ {
		if c.PlanRound(3, k).Full {
			full++
		}
	}
	// Binomial(20000, 0.1): sd ≈ 42; 8 sd cannot fail by chance.
	if math.Abs(float64(full)-2000) > 340 {
		t.Errorf("%d full rounds of 20000 with p = 0.1", full)
	}
}

func TestLeaderIsDeterministicAndSpread(t *testing.T) {
	counts := make([]int, 10)
	for k := uint64(0); k < 2000; k++ {
		for a := uint32(0); a < 3; a++ {
			l := Leader(9, k, a, 10)
			if l != Leader(9, k, a, 10) {
				t.Fatal("leader not reproducible")
			}
			counts[l]++
		}
	}
	for i, c := range counts {
		if c < 450 || c > 750 { // 600 expected, sd ≈ 23
			t.Errorf("member %d led %d of 6000 attempts", i, c)
		}
	}
}

func TestStepRejectsBadMessages(t *testing.T) {
	c := testConfig(t, "mean")
	st := NewState([]float64{1, 2, 3})
	st.Round = 1
	plan := c.PlanRound(1, 1)
	a, b := plan.Sample[0], plan.Sample[1]
	outside := 0
	for plan.Contains(outside) {
		outside++
	}
	ok := func(v ...float64) compress.Vector { return compress.Dense(v) }
	cases := []struct {
		name string
		msgs []Message
		want error
	}{
		{"unsorted", []Message{{b, ok(1, 1, 1)}, {a, ok(1, 1, 1)}}, ErrDuplicate},
		{"duplicate", []Message{{a, ok(1, 1, 1)}, {a, ok(1, 1, 1)}}, ErrDuplicate},
		{"not sampled", []Message{{outside, ok(1, 1, 1)}}, ErrNotSampled},
		{"wrong dim", []Message{{a, ok(1, 1)}}, ErrMessage},
		{"nan", []Message{{a, ok(1, math.NaN(), 1)}}, ErrMessage},
		{"inf", []Message{{a, ok(math.Inf(1), 1, 1)}}, ErrMessage},
	}
	for _, tc := range cases {
		if _, _, err := Step(c, 1, st, tc.msgs); !errors.Is(err, tc.want) {
			t.Errorf("%s: Step error = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestStepFullRoundAggregatesGradients(t *testing.T) {
	c := testConfig(t, "mean")
	st := NewState([]float64{1, 1})
	st.G = []float64{2, 0}
	msgs := []Message{{0, compress.Dense([]float64{1, 3})}, {5, compress.Dense([]float64{3, 5})}}
	next, out, err := Step(c, 1, st, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Full || next.Round != 1 {
		t.Fatalf("round 0 should be full and lead to round 1: %+v", out)
	}
	if next.X[0] != 1-0.1*2 || next.X[1] != 1 {
		t.Errorf("x^1 = %v, want x^0 − γ g^0 = [0.8 1]", next.X)
	}
	if next.G[0] != 2 || next.G[1] != 4 {
		t.Errorf("g^1 = %v, want the mean [2 4]", next.G)
	}
}

// TestClippingBoundsByzantineRound is the paper's key property: whatever a partial round's sample sends,
// g moves by at most τ = λ‖x^{k+1} − x^k‖ for an aggregator whose output is a convex combination of its
// inputs, and by at most √d·τ for the coordinate-wise ones (each coordinate stays within the inputs').
func TestClippingBoundsByzantineRound(t *testing.T) {
	factor := map[string]float64{"mean": 1, "krum": 1, "gm": 1, "cm": math.Sqrt(3), "tm": math.Sqrt(3)}
	for spec, f := range factor {
		c := testConfig(t, spec)
		st := NewState([]float64{0.5, -0.5, 1})
		st.Round = 1
		st.G = []float64{0.3, 0.4, 0}
		plan := c.PlanRound(1, 1)
		var msgs []Message
		for i, m := range plan.Sample {
			msgs = append(msgs, Message{m, compress.Dense([]float64{1e9 * float64(i+1), -1e9, 1e9})})
		}
		next, out, err := Step(c, 1, st, msgs)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		tau := f * c.Lambda * c.LR * vec.Norm(st.G)
		moved := math.Sqrt(vec.SqDist(next.G, st.G))
		if moved > tau*(1+1e-12) {
			t.Errorf("%s: g moved by %g, more than τ = %g", spec, moved, tau)
		}
		if out.Clipped != len(msgs) {
			t.Errorf("%s: clipped %d of %d huge messages", spec, out.Clipped, len(msgs))
		}
	}
}

func TestStepWithoutMessagesKeepsEstimate(t *testing.T) {
	c := testConfig(t, "cm")
	st := NewState([]float64{1, 2})
	st.Round = 3
	st.G = []float64{1, 1}
	next, _, err := Step(c, 1, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if next.G[0] != 1 || next.G[1] != 1 || next.X[0] != 0.9 {
		t.Errorf("next = %+v", next)
	}
}

func TestDigestChangesWithEveryBit(t *testing.T) {
	st := NewState([]float64{1, 2, 3})
	d := st.Digest()
	if d != st.Clone().Digest() {
		t.Fatal("digest of a clone differs")
	}
	edits := []func(s *State){
		func(s *State) { s.Round++ },
		func(s *State) { s.X[2] = math.Nextafter(s.X[2], 4) },
		func(s *State) { s.G[0] = math.Copysign(0, -1) },
	}
	for i, e := range edits {
		s := st.Clone()
		e(s)
		if s.Digest() == d {
			t.Errorf("edit %d did not change the digest", i)
		}
	}
}
