package attack

import (
	"errors"
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/agg"
	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/rng"
)

func view(t *testing.T, byzInSample int) *View {
	t.Helper()
	a, _ := agg.Parse("mean")
	q, _ := compress.Parse("none")
	c := &method.Config{Variant: method.VariantMarinaPP, Members: 20, Sampled: 4, Schedule: 1000, LR: 0.5,
		Lambda: 1, Batch: 1, Aggregator: a, Compressor: q}
	st := method.NewState([]float64{1, 2})
	st.Round = 1
	st.G = []float64{2, 2}
	return &View{
		Config: c, State: st, X0: []float64{0, 0}, Plan: c.PlanRound(1, 1), Member: 19, Members: 20, Byz: 5,
		ByzInSample: byzInSample,
		Honest:      [][]float64{{1, 0}, {3, 4}},
		Own:         func() compress.Vector { return compress.Dense([]float64{5, -1}) },
		Flipped:     func() compress.Vector { return compress.Dense([]float64{-7, 7}) },
		Rand:        rng.New(1, 1, rng.Attack, 19),
	}
}

func craft(t *testing.T, spec string, v *View) ([]float64, bool) {
	t.Helper()
	a, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := a.Craft(v)
	if !ok {
		return nil, false
	}
	return m.ToDense(), true
}

func TestAttacks(t *testing.T) {
	cases := []struct {
		spec string
		byz  int
		want []float64
	}{
		{"none", 1, []float64{5, -1}},
		{"bf", 1, []float64{-5, 1}},
		{"lf", 1, []float64{-7, 7}},
		{"ipm", 1, []float64{-0.2, -0.2}},
		{"ipm:eps=2", 1, []float64{-4, -4}},
		{"mimic", 1, []float64{1, 0}},
		{"alie:z=1", 1, []float64{2 - 1, 2 - 2}},
		// Shift-Back in a minority behaves honestly.
		{"shb", 2, []float64{5, -1}},
		// In a majority: x^{k+1} = x^k − γ g^k = (0, 1); m = (x^{k+1} − x^0)/γ − g^k = (0, 2) − (2, 2).
		{"shb", 3, []float64{-2, 0}},
	}
	for _, c := range cases {
		got, ok := craft(t, c.spec, view(t, c.byz))
		if !ok {
			t.Fatalf("%s sent nothing", c.spec)
		}
		for i := range c.want {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Errorf("%s (byz %d in sample): got %v, want %v", c.spec, c.byz, got, c.want)
				break
			}
		}
	}
	if _, ok := craft(t, "silent", view(t, 1)); ok {
		t.Error("silent sent a message")
	}
	noise, _ := craft(t, "noise:sigma=3", view(t, 1))
	again, _ := craft(t, "noise:sigma=3", view(t, 1))
	if noise[0] != again[0] || noise[0] == 0 {
		t.Errorf("noise not reproducible from its stream: %v vs %v", noise, again)
	}
}

// TestShiftBackReturnsToStart checks the attack's defining property: if the aggregate equals the
// Byzantine message, the next point is x^0.
func TestShiftBackReturnsToStart(t *testing.T) {
	v := view(t, 3)
	m, _ := craft(t, "shb", v)
	x1 := v.State.NextPoint(v.Config.LR)
	for i := range x1 {
		g := v.State.G[i] + m[i]
		if x2 := x1[i] - v.Config.LR*g; math.Abs(x2-v.X0[i]) > 1e-12 {
			t.Errorf("coordinate %d: x^{k+2} = %g, want x^0 = %g", i, x2, v.X0[i])
		}
	}
}

func TestALIEZ(t *testing.T) {
	if z := ALIEZ(20, 5); math.Abs(z-0.2533471) > 1e-6 {
		t.Errorf("ALIEZ(20, 5) = %v, want 0.2533", z)
	}
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{"", "nope", "ipm:eps", "ipm:eps=x", "alie:k=1", "noise:sigma=-1", "bf:x=1"} {
		if _, err := Parse(spec); !errors.Is(err, ErrSpec) {
			t.Errorf("Parse(%q) = %v, want ErrSpec", spec, err)
		}
	}
	for _, name := range Names() {
		if _, err := Parse(name); err != nil {
			t.Errorf("Parse(%q): %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"shb", "alie:z=1", "ipm:eps=0.1", "noise:sigma=2", ":", "a:b=c,d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		a, err := Parse(spec)
		if err == nil && a.Name() == "" {
			t.Errorf("Parse(%q) gave an attack without a name", spec)
		}
	})
}

// TestNeedsHonest: an attack says it needs the honest vectors exactly when its message changes with
// them (crafted from the same view, once with other honest vectors and once with none).
func TestNeedsHonest(t *testing.T) {
	for _, spec := range []string{"none", "silent", "bf", "lf", "shb", "noise:sigma=1", "alie", "ipm", "mimic"} {
		a, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, byz := range []int{1, 3} {
			base, _ := craft(t, spec, view(t, byz))
			changed := false
			for _, honest := range [][][]float64{{{7, -3}, {2, 9}}, nil} {
				v := view(t, byz)
				v.Honest = honest
				got, _ := craft(t, spec, v)
				for i := range got {
					changed = changed || got[i] != base[i]
				}
			}
			if changed != NeedsHonest(a) {
				t.Errorf("%s (byz %d): message changes with the honest vectors: %v, NeedsHonest: %v", spec, byz, changed, NeedsHonest(a))
			}
		}
	}
}
