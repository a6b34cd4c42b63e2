package model

import (
	"math"
	"math/big"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// ulps returns the distance between a and b in units in the last place (0 for equal values, including
// two NaNs).
func ulps(a, b float64) int64 {
	if math.IsNaN(a) && math.IsNaN(b) || a == b {
		return 0
	}
	ord := func(f float64) int64 {
		i := int64(math.Float64bits(f))
		if i < 0 {
			i = math.MinInt64 - i
		}
		return i
	}
	d := ord(a) - ord(b)
	if d < 0 {
		d = -d
	}
	return d
}

// sweep returns arguments spread over [lo, hi]: a uniform grid, random points and the endpoints.
func sweep(lo, hi float64) []float64 {
	var xs []float64
	for i := 0; i <= 2000; i++ {
		xs = append(xs, lo+(hi-lo)*float64(i)/2000)
	}
	r := rng.New(7, 0, rng.Init, 0)
	for range 20000 {
		xs = append(xs, lo+(hi-lo)*rng.Float64(r))
	}
	return xs
}

func TestExpDet(t *testing.T) {
	special := map[float64]float64{
		0: 1, math.Inf(1): math.Inf(1), math.Inf(-1): 0, 710: math.Inf(1), -746: 0, 1e-300: 1,
	}
	for x, want := range special {
		if got := expDet(x); got != want {
			t.Errorf("expDet(%v) = %v, want %v", x, got, want)
		}
	}
	if !math.IsNaN(expDet(math.NaN())) {
		t.Error("expDet(NaN) is not NaN")
	}
	xs := append(sweep(-745, 709.78), sweep(-2, 2)...)
	xs = append(xs, -744.4, -708.5, 709.78, 0x1p-29, -0x1p-29, math.Ln2/2, -math.Ln2/2)
	for i, x := range xs {
		if i%4 != 0 && i > 2000 { // the 256-bit reference is slow; a quarter of the random points suffices
			continue
		}
		want := bigExp(x)
		if d := ulps(expDet(x), want); d > 1 {
			t.Errorf("expDet(%v) = %v, exact %v (%d ulps)", x, expDet(x), want, d)
		}
	}
}

// bigExp returns e^x correctly rounded (a 256-bit Taylor series after halving x to below 2^-12, then
// squaring back). It is the reference for expDet: math.Exp is itself off by an ulp at times on amd64
// and overflows early, near 709.5.
func bigExp(x float64) float64 {
	const prec = 256
	_, e := math.Frexp(x)
	halvings := max(0, e+12)
	r := new(big.Float).SetPrec(prec).SetMantExp(new(big.Float).SetFloat64(x), -halvings)
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for n := int64(1); n < 40; n++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetInt64(n))
		sum.Add(sum, term)
	}
	for range halvings {
		sum.Mul(sum, sum)
	}
	f, _ := sum.Float64()
	return f
}

func TestLog1pDet(t *testing.T) {
	if got := log1pDet(-1); !math.IsInf(got, -1) {
		t.Errorf("log1pDet(-1) = %v", got)
	}
	for _, x := range []float64{-2, math.NaN()} {
		if got := log1pDet(x); !math.IsNaN(got) {
			t.Errorf("log1pDet(%v) = %v, want NaN", x, got)
		}
	}
	if got := log1pDet(math.Inf(1)); !math.IsInf(got, 1) {
		t.Errorf("log1pDet(+Inf) = %v", got)
	}
	xs := append(sweep(-0.999, 1), sweep(0, 1e6)...)
	xs = append(xs, 1e-300, -1e-300, 1e-20, 0x1p-30, 4.1421356e-01, -2.9289e-01, 1e300, math.MaxFloat64)
	for _, x := range xs {
		if d := ulps(log1pDet(x), math.Log1p(x)); d > 1 {
			t.Errorf("log1pDet(%v) = %v, math.Log1p = %v (%d ulps)", x, log1pDet(x), math.Log1p(x), d)
		}
	}
}

func TestTanhDet(t *testing.T) {
	for _, x := range []float64{0, math.Copysign(0, -1), 23, -23, math.Inf(1), math.Inf(-1)} {
		if got, want := tanhDet(x), math.Tanh(x); got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("tanhDet(%v) = %v, want %v", x, got, want)
		}
	}
	if !math.IsNaN(tanhDet(math.NaN())) {
		t.Error("tanhDet(NaN) is not NaN")
	}
	xs := append(sweep(-25, 25), sweep(-1, 1)...)
	xs = append(xs, 0.625, -0.625, math.Nextafter(0.625, 0), 1e-300)
	for _, x := range xs {
		if d := ulps(tanhDet(x), math.Tanh(x)); d > 2 {
			t.Errorf("tanhDet(%v) = %v, math.Tanh = %v (%d ulps)", x, tanhDet(x), math.Tanh(x), d)
		}
	}
}

// TestLogSumMatchesSeparateLogs multiplies many factors (enough to need renormalisation) and compares
// Σ ln(u_i) with a 200-bit reference sum of separately rounded logarithms.
func TestLogSumMatchesSeparateLogs(t *testing.T) {
	r := rng.New(3, 0, rng.Init, 0)
	acc := newLogSum()
	ref := new(big.Float).SetPrec(200)
	const n = 5000
	for i := range n {
		u := 1 + rng.Float64(r)
		if i%7 == 0 {
			u = 2
		}
		acc.add(u)
		ref.Add(ref, new(big.Float).SetPrec(200).SetFloat64(math.Log(u)))
	}
	want, _ := ref.Float64()
	if got := acc.value(); math.Abs(got-want) > 1e-12*want {
		t.Errorf("logSum = %.17g, reference %.17g", got, want)
	}
	if empty := newLogSum(); empty.value() != 0 {
		t.Errorf("empty logSum = %v", empty.value())
	}
}

// TestLogisticStable checks the split log-loss against direct formulas and its behaviour at huge margins.
func TestLogisticStable(t *testing.T) {
	for _, z := range []float64{-30, -5, -0.5, 0, 0.5, 5, 30} {
		for _, y := range []float64{0, 1} {
			sigma, lin, u := logistic(z, y)
			p := 1 / (1 + math.Exp(-z))
			want := -y*math.Log(p) - (1-y)*math.Log(1-p)
			if got := lin + math.Log(u); math.Abs(got-want) > 1e-12*math.Max(1, want) && math.Abs(z) < 30 {
				t.Errorf("loss(z=%v, y=%v) = %v, want %v", z, y, got, want)
			}
			if math.Abs(sigma-p) > 1e-16 {
				t.Errorf("σ(%v) = %v, want %v", z, sigma, p)
			}
		}
	}
	for _, z := range []float64{1e6, -1e6, 1e300, -1e300} {
		for _, y := range []float64{0, 1} {
			sigma, lin, u := logistic(z, y)
			want := math.Max(z, 0) - y*z
			if lin != want || u != 1 || sigma != math.Max(0, math.Copysign(1, z)) {
				t.Errorf("logistic(%v, %v) = %v, %v, %v", z, y, sigma, lin, u)
			}
		}
	}
}

// FuzzElementary checks the deterministic functions against references at arbitrary arguments.
func FuzzElementary(f *testing.F) {
	for _, x := range []float64{0, 1, -1, 0.5, 700, -740, 1e-20, 0.625, 22, math.Ln2 / 2} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		if x > -746 && x < 710 {
			if d := ulps(expDet(x), bigExp(x)); d > 1 {
				t.Errorf("expDet(%v) = %v, exact %v", x, expDet(x), bigExp(x))
			}
		}
		if d := ulps(log1pDet(x), math.Log1p(x)); d > 1 {
			t.Errorf("log1pDet(%v) = %v, math.Log1p %v", x, log1pDet(x), math.Log1p(x))
		}
		if d := ulps(tanhDet(x), math.Tanh(x)); d > 2 {
			t.Errorf("tanhDet(%v) = %v, math.Tanh %v", x, tanhDet(x), math.Tanh(x))
		}
		sigma, linear, u := logistic(x, 1)
		if math.IsNaN(x) != math.IsNaN(sigma) || sigma < 0 || sigma > 1 || u < 1 || u > 2 || linear < 0 && !math.IsNaN(x) {
			t.Errorf("logistic(%v, 1) = %v, %v, %v", x, sigma, linear, u)
		}
	})
}

// TestExpTable checks the table of 2^(j/N): hi correctly rounded, hi + lo within 1e-30 of the exact
// value (checked by raising it to the N-th power in 256-bit arithmetic).
func TestExpTable(t *testing.T) {
	if expTable[0] != [2]float64{1, 0} {
		t.Errorf("2^0 = %v", expTable[0])
	}
	if expTable[expTableSize/2][0] != math.Sqrt2 {
		t.Errorf("2^(1/2) = %v, want %v", expTable[expTableSize/2][0], math.Sqrt2)
	}
	for j, e := range expTable {
		v := new(big.Float).SetPrec(256).SetFloat64(e[0])
		v.Add(v, new(big.Float).SetFloat64(e[1]))
		if math.Abs(e[1]) > math.Nextafter(e[0], 3)-e[0] {
			t.Errorf("entry %d: lo %v is not below an ulp of hi %v", j, e[1], e[0])
		}
		p := new(big.Float).SetPrec(256).SetInt64(1)
		for range expTableSize {
			p.Mul(p, v)
		}
		want := new(big.Float).SetPrec(256).SetMantExp(big.NewFloat(1), j) // 2^j
		ratio := new(big.Float).SetPrec(256).Quo(p, want)
		dev, _ := ratio.Sub(ratio, big.NewFloat(1)).Float64()
		if math.Abs(dev) > 1e-29 {
			t.Errorf("entry %d: (hi+lo)^N / 2^j − 1 = %g", j, dev)
		}
	}
}
