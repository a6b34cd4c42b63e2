package agg

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
	"github.com/byzpp/byzpp/algo/vec"
)

// honestAndByzantine returns g honest points around a common centre and b Byzantine ones of the given
// kind, Byzantine first (so index-based tie-breaking cannot favour the honest).
func honestAndByzantine(r *rand.Rand, g, b, d int, kind string) (all, honest [][]float64) {
	centre := make([]float64, d)
	for c := range centre {
		centre[c] = 3 * rng.Normal(r)
	}
	for i := 0; i < g; i++ {
		v := slices.Clone(centre)
		for c := range v {
			v[c] += 0.5 * rng.Normal(r)
		}
		honest = append(honest, v)
	}
	for i := 0; i < b; i++ {
		v := make([]float64, d)
		for c := range v {
			switch kind {
			case "huge": // all in one direction
				v[c] = 1e12
			case "huge random":
				v[c] = 1e12 * rng.Normal(r)
			case "max float":
				v[c] = math.MaxFloat64 * float64(1-2*(i%2))
			case "negated": // sign flip of the honest centre, scaled
				v[c] = -100 * centre[c]
			}
		}
		all = append(all, v)
	}
	return append(all, honest...), honest
}

func TestRobustToOutliers(t *testing.T) {
	const g, b, d = 15, 5, 10
	r := rng.New(15, 0, rng.Init, 0)
	for _, kind := range []string{"huge", "huge random", "max float", "negated"} {
		for trial := 0; trial < 10; trial++ {
			inputs, honest := honestAndByzantine(r, g, b, d, kind)
			honestMean, _ := mean{}.Aggregate(honest, Context{})
			var radius float64
			for _, h := range honest {
				radius = math.Max(radius, math.Sqrt(vec.SqDist(h, honestMean)))
			}
			ctx := testContext(uint64(trial), b)
			inHull := func(name string, out []float64) {
				t.Helper()
				for c := range out {
					col := column(honest, c)
					if out[c] < slices.Min(col) || out[c] > slices.Max(col) {
						t.Errorf("%s, %s: coordinate %d = %v outside the honest range [%v, %v]", kind, name, c, out[c], slices.Min(col), slices.Max(col))
						return
					}
				}
			}
			within := func(name string, out []float64, bound float64) {
				t.Helper()
				if dist := math.Sqrt(vec.SqDist(out, honestMean)); !(dist <= bound) {
					t.Errorf("%s, %s: distance %v from the honest mean exceeds %v", kind, name, dist, bound)
				}
			}
			agg := func(spec string, ctx Context) []float64 {
				t.Helper()
				out, err := mustParse(t, spec).Aggregate(inputs, ctx)
				if err != nil {
					t.Fatalf("%s, %s: %v", kind, spec, err)
				}
				return out
			}
			inHull("cm", agg("cm", ctx))
			inHull("tm", agg("tm", ctx))
			// Bucketing(2) of 20 inputs gives 10 buckets; only up to 3 Byzantines (3 tainted buckets)
			// leave the median of buckets inside the honest range.
			few, fewHonest := honestAndByzantine(r, g+b-3, 3, d, kind)
			out, err := mustParse(t, "bucket2(cm)").Aggregate(few, testContext(uint64(trial), 3))
			if err != nil {
				t.Fatal(err)
			}
			for c := range out {
				col := column(fewHonest, c)
				if out[c] < slices.Min(col) || out[c] > slices.Max(col) {
					t.Errorf("%s, bucket2(cm): coordinate %d = %v outside the honest range", kind, c, out[c])
				}
			}
			krumOut := agg("krum", ctx)
			if !slices.ContainsFunc(honest, func(h []float64) bool { return bitsEqual(h, krumOut) }) {
				t.Errorf("%s: krum chose a Byzantine input", kind)
			}
			inHull("mkrum:5", agg("mkrum:5", ctx))
			within("gm", agg("gm", ctx), 2*radius)
			// Centered clipping from the honest mean moves at most τ·f/N per iteration because of the
			// Byzantines, 3 iterations, τ = 10.
			cctx := ctx
			cctx.Center = honestMean
			within("cclip", agg("cclip", cctx), radius+3*10*float64(b)/float64(g+b))
			// The mean is not robust: the same check must fail for it (else the test proves nothing).
			if kind != "negated" {
				if m, err := mustParse(t, "mean").Aggregate(inputs, ctx); err == nil && math.Sqrt(vec.SqDist(m, honestMean)) <= 2*radius {
					t.Errorf("%s: even the mean passed; the outliers are not adversarial", kind)
				}
			}
		}
	}
}
