package vec

import (
	"math"
	"testing"
)

func TestArithmetic(t *testing.T) {
	a := []float64{1, 2, 3}
	b := []float64{4, -5, 6}
	if got := Dot(a, b); got != 12 {
		t.Errorf("Dot = %v, want 12", got)
	}
	if got := SqDist(a, b); got != 9+49+9 {
		t.Errorf("SqDist = %v, want 67", got)
	}
	if got := Norm([]float64{3, 4}); got != 5 {
		t.Errorf("Norm = %v, want 5", got)
	}
	y := Clone(a)
	Axpy(2, b, y)
	want := []float64{9, -8, 15}
	for i := range want {
		if y[i] != want[i] {
			t.Fatalf("Axpy = %v, want %v", y, want)
		}
	}
	m := make([]float64, 3)
	Mean(m, [][]float64{a, b})
	if m[0] != 2.5 || m[1] != -1.5 || m[2] != 4.5 {
		t.Errorf("Mean = %v", m)
	}
}

func TestAllFinite(t *testing.T) {
	cases := []struct {
		v    []float64
		want bool
	}{
		{nil, true},
		{[]float64{1, 2}, true},
		{[]float64{1, math.NaN()}, false},
		{[]float64{math.Inf(-1)}, false},
	}
	for _, c := range cases {
		if got := AllFinite(c.v); got != c.want {
			t.Errorf("AllFinite(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}
