package sim

import (
	"context"
	"math"
	"os"
	"testing"
)

// TestHeldOutAccuracy: a9a's runs are scored on a9a.t by default. 20 honest members with a light
// penalty (η = 1e-4, whose optimum scores 0.851) and γ = 1 reach about 85% test accuracy in 2000
// rounds; no test set gives NaN.
func TestHeldOutAccuracy(t *testing.T) {
	s := Default()
	s.L2, s.LR, s.Byzantine, s.Attack, s.Schedule, s.Rounds, s.EvalEvery = 1e-4, 1, 0, "none", 1000, 2000, 500
	res, err := Run(context.Background(), s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.Points[0], res.Points[len(res.Points)-1]
	t.Logf("a9a.t: accuracy %.4f → %.4f, test loss %.4f → %.4f", first.TestAccuracy, last.TestAccuracy, first.TestLoss, last.TestLoss)
	if math.Abs(first.TestAccuracy-12435.0/16281) > 1e-12 {
		t.Errorf("accuracy at x^0 = 0 is %v, want the share of label 0 in a9a.t (%v)", first.TestAccuracy, 12435.0/16281)
	}
	if !(last.TestAccuracy >= 0.84) || !(last.TestLoss < first.TestLoss) {
		t.Errorf("after %d rounds: test accuracy %v, test loss %v (from %v); want ≥ 0.84 and falling", s.Rounds, last.TestAccuracy, last.TestLoss, first.TestLoss)
	}
	s.Rounds, s.TestData = 10, NoTestData
	res, err = Run(context.Background(), s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Points[len(res.Points)-1]; !math.IsNaN(p.TestAccuracy) || !math.IsNaN(p.TestLoss) {
		t.Errorf("test_data none: %+v, want NaN test figures", p)
	}
}

func TestTestDataName(t *testing.T) {
	for _, tc := range []struct{ data, test, want string }{
		{"a9a", "", "a9a.t"},
		{"a9a", "none", ""},
		{"a9a", "x.libsvm", "x.libsvm"},
		{"../w8a", "", ""},
		{"../w8a", "../w8a.t", "../w8a.t"},
	} {
		s := Spec{Data: tc.data, TestData: tc.test}
		if got := s.TestDataName(); got != tc.want {
			t.Errorf("data %q test %q: %q, want %q", tc.data, tc.test, got, tc.want)
		}
	}
}

// TestBadTestData: a test file with more features than the training set is refused, naming it.
func TestBadTestData(t *testing.T) {
	s := Default()
	s.Rounds = 1
	s.TestData = t.TempDir() + "/wide.libsvm"
	if err := os.WriteFile(s.TestData, []byte("+1 500:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), s, nil, nil); err == nil {
		t.Fatal("a test set wider than a9a was accepted")
	}
}
