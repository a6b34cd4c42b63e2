package compress

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// exactMoments returns, derived from each compressor's definition independently of the implementation,
// Var Q(v)_i for every coordinate and Var ‖Q(v) − v‖² (needed for an honest tolerance when the error is
// dominated by rare events, e.g. dithering a vector with one huge coordinate).
func exactMoments(t *testing.T, c Compressor, v []float64) (variance []float64, sqErrVar float64) {
	t.Helper()
	d := len(v)
	variance = make([]float64, d)
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	// twoPoint records a coordinate whose signed error (in magnitude) is lo w.p. 1−p and hi w.p. p; the
	// coordinates are independent.
	twoPoint := func(i int, lo, hi, p float64) {
		variance[i] = (hi - lo) * (hi - lo) * p * (1 - p)
		sqErrVar += (hi*hi - lo*lo) * (hi*hi - lo*lo) * p * (1 - p)
	}
	switch c := c.(type) {
	case identity:
	case randK:
		// Kept with probability q = K/d at value v_i/q. The squared error is Σv_i² + Σ_{i∈S} a_i with
		// a_i = v_i²((1/q − 1)² − 1), S a uniform K-subset: Var = K·σ_a²·(d − K)/(d − 1).
		k := c.count(d)
		q := float64(k) / float64(d)
		a := make([]float64, d)
		var meanA float64
		for i, x := range v {
			variance[i] = x * x * (1/q - 1)
			a[i] = x * x * ((1/q-1)*(1/q-1) - 1)
			meanA += a[i] / float64(d)
		}
		if d > 1 {
			var popVar float64
			for _, x := range a {
				popVar += (x - meanA) * (x - meanA) / float64(d)
			}
			sqErrVar = float64(k) * popVar * float64(d-k) / float64(d-1)
		}
	case dither:
		s := float64(c.levels)
		for i, x := range v {
			u := math.Abs(x) / norm * s
			l := math.Floor(u)
			twoPoint(i, -(u-l)*norm/s, (l+1-u)*norm/s, u-l)
		}
	case natural:
		for i, x := range v {
			a := math.Abs(x)
			if a == 0 {
				continue
			}
			low := math.Pow(2, math.Floor(math.Log2(a)))
			if low > a { // Log2 rounding just below a power of two
				low /= 2
			}
			twoPoint(i, low-a, 2*low-a, a/low-1)
		}
	default:
		t.Fatalf("no exact moments for %T", c)
	}
	return variance, sqErrVar
}

func exactVariance(t *testing.T, c Compressor, v []float64) []float64 {
	variance, _ := exactMoments(t, c, v)
	return variance
}

// momentFailures draws trials compressions of v and compares the empirical mean of every coordinate and
// the empirical E‖Q(v) − v‖² with their exact values and with the ω bound. Tolerances are 6 standard
// errors (computed from the exact or the sample variance) plus float rounding, so a correct compressor
// fails with probability ~1e-9 per check, while a bias or a variance beyond ω of a few standard errors
// is caught; the seeds are fixed, so the outcome never changes between runs anyway.
func momentFailures(t *testing.T, c Compressor, v []float64, exact Compressor, omega float64, trials int) []string {
	t.Helper()
	variance, sqErrVar := exactMoments(t, exact, v)
	d := len(v)
	var normSq float64
	for _, x := range v {
		normSq += x * x
	}
	sum := make([]float64, d)
	var errSum, errSqSum float64
	for k := 0; k < trials; k++ {
		q := c.Compress(v, rng.New(2024, uint64(k), rng.Compress, 7))
		if err := q.Validate(d); err != nil {
			return []string{fmt.Sprintf("trial %d: invalid output: %v", k, err)}
		}
		dense := q.ToDense()
		var e float64
		for i, x := range dense {
			sum[i] += x
			e += (x - v[i]) * (x - v[i])
		}
		errSum += e
		errSqSum += e * e
	}
	T := float64(trials)
	rounding := 1e-9 * math.Sqrt(normSq)
	var fails []string
	var exactTotal float64
	for i := range v {
		exactTotal += variance[i]
		mean := sum[i] / T
		if tol := 6*math.Sqrt(variance[i]/T) + rounding; math.Abs(mean-v[i]) > tol {
			fails = append(fails, fmt.Sprintf("coordinate %d: mean %v, want %v ± %v", i, mean, v[i], tol))
		}
	}
	mse := errSum / T
	// The larger of the exact and the sample standard error: the sample one alone would be 0 when the
	// error comes from events too rare to show up in the trials.
	se := math.Sqrt(math.Max(sqErrVar, errSqSum/T-mse*mse) / T)
	if tol := 6*se + 1e-9*normSq; math.Abs(mse-exactTotal) > tol {
		fails = append(fails, fmt.Sprintf("E‖Q(v)−v‖² = %v, exact %v ± %v", mse, exactTotal, tol))
	}
	bound := omega * normSq
	if exactTotal > bound*(1+1e-12) {
		fails = append(fails, fmt.Sprintf("exact variance %v exceeds ω‖v‖² = %v", exactTotal, bound))
	}
	if mse > bound+6*se+1e-9*normSq {
		fails = append(fails, fmt.Sprintf("empirical variance %v exceeds ω‖v‖² = %v", mse, bound))
	}
	return fails
}

func testVectors() map[string][]float64 {
	r := rng.New(99, 0, rng.Init, 0)
	gauss := make([]float64, 12)
	for i := range gauss {
		gauss[i] = rng.Normal(r)
	}
	return map[string][]float64{
		"gaussian":       gauss,
		"spike":          {1e-3, -1e-3, 1e6, 2e-3, 0, -5e-4, 1e-3, 3e-3},
		"powers of two":  {1, -2, 0.5, math.Copysign(0, -1), 4, 0, -0.25, 8},
		"mixed scales":   {1e-8, -3e5, 7, -0.1, 2.5e-3, 1e3, -42, 1e-12},
		"constant":       {1, 1, 1, 1, 1, 1, 1, 1, 1},
		"single nonzero": {0, 0, -5, 0},
		"worst natural":  {4.0 / 3, -8.0 / 3, 16.0 / 3, 1.0 / 3, -2.0 / 3},
	}
}

func TestUnbiasedAndVarianceBound(t *testing.T) {
	specs := []string{"none", "randk:1", "randk:3", "randk:0.5", "randk:1.0", "dither:1", "dither:2", "dither:8", "natural"}
	vectors := testVectors()
	for _, spec := range specs {
		c, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range vectors {
			t.Run(spec+"/"+name, func(t *testing.T) {
				for _, f := range momentFailures(t, c, v, c, c.Omega(len(v)), 20000) {
					t.Error(f)
				}
			})
		}
	}
}

// The checker above must be able to fail: a compressor scaled slightly wrong, or one claiming a smaller
// ω than it has, is caught.
type wrongScale struct{ randK }

func (w wrongScale) Compress(v []float64, r *rand.Rand) Vector {
	q := w.randK.Compress(v, r)
	for j := range q.Values {
		q.Values[j] *= 0.97
	}
	return q
}

type optimistic struct{ natural }

func (optimistic) Omega(int) float64 { return 1.0 / 16 }

func TestMomentCheckerDetectsBiasAndVariance(t *testing.T) {
	v := testVectors()["gaussian"]
	biased := wrongScale{randK{k: 3}}
	if fails := momentFailures(t, biased, v, biased.randK, biased.Omega(len(v)), 20000); len(fails) == 0 {
		t.Error("a compressor biased by 3% passed the unbiasedness check")
	}
	w := testVectors()["worst natural"]
	liar := optimistic{}
	if fails := momentFailures(t, liar, w, natural{}, liar.Omega(len(w)), 20000); len(fails) == 0 {
		t.Error("natural compression claiming ω = 1/16 passed the variance bound")
	}
}

// The ω bounds hold for the exact variance of many random and adversarial vectors (no sampling).
func TestOmegaBoundExact(t *testing.T) {
	r := rng.New(5, 0, rng.Init, 0)
	for trial := 0; trial < 500; trial++ {
		d := 1 + rng.IntN(r, 50)
		v := make([]float64, d)
		for i := range v {
			switch trial % 3 {
			case 0:
				v[i] = rng.Normal(r)
			case 1: // heavy tails
				v[i] = rng.Normal(r) * math.Exp(10*rng.Normal(r))
			case 2: // sparse
				if rng.Bernoulli(r, 0.2) {
					v[i] = rng.Normal(r)
				}
			}
		}
		var normSq float64
		for _, x := range v {
			normSq += x * x
		}
		for _, c := range []Compressor{dither{1}, dither{3}, dither{50}, natural{}, randK{k: 2}, randK{frac: 0.3}} {
			var total float64
			for _, x := range exactVariance(t, c, v) {
				total += x
			}
			if total > c.Omega(d)*normSq*(1+1e-12) {
				t.Fatalf("%s, d=%d: exact variance %v > ω‖v‖² = %v", c.Name(), d, total, c.Omega(d)*normSq)
			}
		}
	}
	// Natural compression's bound is tight: at a = (4/3)·2^e the ratio is exactly 1/8.
	v := []float64{4.0 / 3}
	if got := exactVariance(t, natural{}, v)[0] / (v[0] * v[0]); math.Abs(got-0.125) > 1e-12 {
		t.Errorf("natural variance ratio at 4/3 = %v, want 1/8", got)
	}
}
