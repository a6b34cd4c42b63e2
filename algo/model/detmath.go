package model

import (
	"math"
	"math/big"
)

// Elementary functions with the same bits on every machine.
//
// The standard library's math.Exp runs assembly on amd64 that switches to fused multiply-adds when the
// CPU has FMA3, and a different assembly kernel on arm64; its pure-Go functions (Log1p, Tanh) may be
// fused by the compiler on arm64. Gradients are compared bit for bit across peers, so the model uses
// these versions instead, with every multiply-add written float64(a*b) + c so that no compiler may fuse
// it: exp by a table method written for this package, log1p by fdlibm's reduction and polynomial, tanh
// by Cephes' rational approximation. Each is within an ulp or two of the true value (tests compare them
// with a 256-bit reference or with package math).

// expDet returns e^x, within an ulp of the exact value (see expInto).
func expDet(x float64) float64 {
	v := [1]float64{x}
	expInto(v[:], v[:])
	return v[0]
}

// expInto sets dst[i] = e^src[i] (dst may be src), within an ulp of the exact value.
//
// Table method without a division: x = (m·N + j)·ln2/N + r with |r| ≤ ln2/(2N), so
// e^x = 2^m · 2^(j/N) · e^r, where 2^(j/N) comes from expTable and e^r − 1 from its Taylor series to r⁶
// (the next term is below 1e-19 relative). Each element is a few short chains independent of its
// neighbours, and a loop over many of them lets the CPU overlap them (a call per element would not).
func expInto(dst, src []float64) {
	const (
		invLn2N = expTableSize / math.Ln2
		// ln2/N split so that k·ln2NHi is exact for |k| < 2^24.
		ln2NHi = 0x1.62e42feep-7
		ln2NLo = 0x1.a39ef35793c76p-39
		// Adding and subtracting 1.5·2^52 rounds a float below 2^51 to an integer (ties to even) with
		// two exact IEEE operations: no branch, no conversion.
		shifter = 0x1.8p52
		// Within [fastLo, fastHi] the result's binary exponent m lies in [−1022, 1022].
		fastLo = -708
		fastHi = 709
	)
	dst = dst[:len(src)]
	for i, x := range src {
		kf := (float64(x*invLn2N) + shifter) - shifter
		r := (x - float64(kf*ln2NHi)) - float64(kf*ln2NLo)
		k := int64(kf) // meaningless for huge or NaN x, but only masked below: no out-of-range index
		// e^r − 1 = r·(1 + r/2 + r²/6 + r³/24 + r⁴/120 + r⁵/720), grouped (Estrin) into short chains.
		r2 := float64(r * r)
		a := float64(r*(1.0/2)) + 1
		b := float64(r*(1.0/24)) + 1.0/6
		c := float64(r*(1.0/720)) + 1.0/120
		b = float64(r2*c) + b
		a = float64(r2*b) + a
		p := float64(r * a)
		t := &expTable[k&(expTableSize-1)]
		y := t[0] + (float64(t[0]*p) + t[1])
		m := int(k >> expTableBits)
		if x >= fastLo && x <= fastHi {
			dst[i] = y * math.Float64frombits(uint64(m+1023)<<52) // 2^m is normal: exact scaling
		} else {
			dst[i] = expOutside(x, y, m)
		}
	}
}

// expOutside finishes e^x = y·2^m outside the fast range: NaN, overflow, underflow, subnormal results.
func expOutside(x, y float64, m int) float64 {
	const (
		overflow  = 7.09782712893383973096e+02
		underflow = -7.45133219101941108420e+02
	)
	switch {
	case math.IsNaN(x):
		return x
	case x > overflow:
		return math.Inf(1)
	case x < underflow:
		return 0
	}
	return math.Ldexp(y, m) // exact scaling by bit manipulation, rounding once if subnormal
}

// expTableBits is log2 of the number N of entries in the table of 2^(j/N).
const (
	expTableBits = 6
	expTableSize = 1 << expTableBits
)

// expTable holds 2^(j/N), j < N, as an unevaluated sum hi + lo of two floats (hi correctly rounded, lo
// the rounded remainder), computed once in 256-bit arithmetic: 2^(1/2), 2^(1/4), … by repeated square
// roots, multiplied together per bit of j. math/big is exact integer arithmetic, so every machine builds
// the same table.
var expTable = func() (t [expTableSize][2]float64) {
	const prec = 256
	roots := make([]*big.Float, expTableBits) // roots[i] = 2^(2^i/N)
	root := new(big.Float).SetPrec(prec).SetInt64(2)
	for i := expTableBits - 1; i >= 0; i-- {
		root = new(big.Float).SetPrec(prec).Sqrt(root)
		roots[i] = root
	}
	for j := range expTableSize {
		v := new(big.Float).SetPrec(prec).SetInt64(1)
		for i, root := range roots {
			if j>>i&1 == 1 {
				v.Mul(v, root)
			}
		}
		hi, _ := v.Float64()
		lo, _ := new(big.Float).SetPrec(prec).Sub(v, big.NewFloat(hi)).Float64()
		t[j] = [2]float64{hi, lo}
	}
	return t
}()

// log1pDet returns ln(1 + x).
func log1pDet(x float64) float64 {
	const (
		sqrt2M1     = 4.142135623730950488017e-01  // √2 − 1
		sqrt2HalfM1 = -2.928932188134524755992e-01 // √2/2 − 1
		small       = 0x1p-29
		tiny        = 0x1p-54
		ln2Hi       = 6.93147180369123816490e-01
		ln2Lo       = 1.90821492927058770002e-10

		// Remez coefficients of R(s²) ≈ ln((1+s)/(1−s)) − 2s − 2s³/3 … in s² (fdlibm).
		lp1 = 6.666666666666735130e-01
		lp2 = 3.999999999940941908e-01
		lp3 = 2.857142874366239149e-01
		lp4 = 2.222219843214978396e-01
		lp5 = 1.818357216161805012e-01
		lp6 = 1.531383769920937332e-01
		lp7 = 1.479819860511658591e-01
	)
	switch {
	case x < -1 || math.IsNaN(x):
		return math.NaN()
	case x == -1:
		return math.Inf(-1)
	case math.IsInf(x, 1):
		return x
	}
	ax := math.Abs(x)
	if ax < small {
		if ax < tiny {
			return x
		}
		return x - float64(float64(x*x)*0.5)
	}
	// Write 1 + x = 2^k·(1 + f)·(1 + c/u) with √2/2 ≤ 1 + f < √2, where u = fl(1 + x) and c is the
	// rounding error of that sum, so ln(1 + x) = k·ln2 + ln(1 + f) + c/u.
	var f, c float64
	k := 0
	if x <= sqrt2HalfM1 || x >= sqrt2M1 {
		u := 1 + x
		m, e := math.Frexp(u) // u = m·2^e, m ∈ [0.5, 1)
		if m < math.Sqrt2/2 {
			m *= 2
			e--
		}
		k = e
		f = m - 1       // exact: m is within a factor two of 1
		if x < 0x1p53 { // beyond, the rounding error of 1 + x is below ulp(ln(1 + x))
			// Pick the subtraction that is exact (Sterbenz): u − x when x ≥ 1, u − 1 otherwise.
			if u >= 2 {
				c = 1 - (u - x)
			} else {
				c = x - (u - 1)
			}
			c /= u
		}
	} else {
		f = x
	}
	hfsq := float64(0.5 * float64(f*f))
	s := f / (2 + f)
	z := float64(s * s)
	r := float64(z*lp7) + lp6
	r = float64(z*r) + lp5
	r = float64(z*r) + lp4
	r = float64(z*r) + lp3
	r = float64(z*r) + lp2
	r = float64(z*r) + lp1
	r = float64(z * r)
	fk := float64(k)
	return float64(fk*ln2Hi) - ((hfsq - (float64(s*(hfsq+r)) + (float64(fk*ln2Lo) + c))) - f)
}

// tanhDet returns tanh(x).
func tanhDet(x float64) float64 {
	const (
		// Cephes rational approximation x + x³·P(x²)/Q(x²) for |x| < 0.625.
		tp0 = -9.64399179425052238628e-1
		tp1 = -9.92877231001918586564e1
		tp2 = -1.61468768441708447952e3
		tq0 = 1.12811678491632931402e2
		tq1 = 2.23548839060100448583e3
		tq2 = 4.84406305325125486048e3
	)
	ax := math.Abs(x)
	switch {
	case math.IsNaN(x):
		return x
	case ax > 22: // tanh(22) rounds to 1
		return math.Copysign(1, x)
	case ax >= 0.625:
		e := expDet(-2 * ax) // in (0, 0.29]: 1 − e has no cancellation
		return math.Copysign((1-e)/(1+e), x)
	case x == 0:
		return x // keeps the sign of zero
	}
	s := float64(x * x)
	p := float64(tp0*s) + tp1
	p = float64(p*s) + tp2
	q := s + tq0
	q = float64(q*s) + tq1
	q = float64(q*s) + tq2
	return x + float64(float64(x*s)*p)/q
}

// logSum accumulates Σ ln(u_i) for factors u_i ∈ [1, 2] as a running product kept in range by exact
// power-of-two renormalisation, so n logarithms cost n multiplications and one logarithm. Each product
// rounds by at most half an ulp, so the sum is as accurate as adding n separately rounded logarithms.
type logSum struct {
	frac    float64 // running product, scaled by 2^−exp
	exp     int
	pending int // factors since the last renormalisation; 2^1000 still fits a float64
}

func newLogSum() logSum { return logSum{frac: 1} }

// add multiplies u ∈ [1, 2] into the product.
func (a *logSum) add(u float64) {
	a.frac *= u
	a.pending++
	if a.pending == 1000 {
		a.normalize()
	}
}

// normalize moves the product's binary exponent into a.exp (exact).
func (a *logSum) normalize() {
	f, e := math.Frexp(a.frac)
	a.frac, a.exp, a.pending = f, a.exp+e, 0
}

// value returns Σ ln(u_i).
func (a *logSum) value() float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01 // k·ln2Hi is exact for |k| < 2^20
		ln2Lo = 1.90821492927058770002e-10
	)
	f, e := math.Frexp(a.frac) // f ∈ [0.5, 1), so f − 1 is exact
	fk := float64(a.exp + e)
	return float64(fk*ln2Hi) + (float64(fk*ln2Lo) + log1pDet(f-1))
}

// logistic returns, for a logit z and label y ∈ [0, 1], σ(z) = 1/(1 + e^−z) and the split log-loss
// −y·ln σ(z) − (1−y)·ln(1 − σ(z)) = [max(z, 0) − y·z] + ln u with u = 1 + e^−|z| ∈ (1, 2]: the caller adds
// linear to its sum and u to a logSum. One exponential of a non-positive argument, so nothing overflows
// however large |z| is.
func logistic(z, y float64) (sigma, linear, u float64) {
	return logisticFromExp(z, y, expDet(-math.Abs(z)))
}

// logisticFromExp is logistic given e = e^−|z|, for callers that compute exponentials in bulk. The
// choice between the two sides of zero is made on bits, without a branch: the sign of a logit is a
// coin flip the CPU cannot predict.
func logisticFromExp(z, y, e float64) (sigma, linear, u float64) {
	u = 1 + e
	inv := 1 / u                                    // σ(|z|); e·inv is σ(−|z|)
	neg := uint64(int64(math.Float64bits(z)) >> 63) // all ones when z's sign bit is set
	sigma = math.Float64frombits(math.Float64bits(inv)&^neg | math.Float64bits(float64(e*inv))&neg)
	return sigma, math.Float64frombits(math.Float64bits(z)&^neg) - float64(y*z), u // max(z, 0) − y·z
}
