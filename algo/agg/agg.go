package agg

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/byzpp/byzpp/algo/vec"
)

// Sentinel errors; every error Aggregate returns wraps one of them.
var (
	ErrEmpty     = errors.New("no inputs to aggregate")
	ErrDimension = errors.New("aggregator inputs have mismatched dimensions")
	ErrNonFinite = errors.New("aggregator input or result is not finite")
	// ErrNoRandom: bucketing was asked to aggregate without Context.Rand.
	ErrNoRandom = errors.New("bucketing needs Context.Rand")
	// ErrSpec is wrapped by every Parse error.
	ErrSpec = errors.New("invalid aggregator spec")
)

// Context is the agreed per-round state an aggregator may use besides its inputs.
type Context struct {
	// Rand is the bucketing permutation stream, rng.New(seed, round, rng.Bucket, 0). It may be nil
	// only when no bucketing is involved. Bucketing consumes it, so pass a fresh stream to every call.
	Rand *rand.Rand
	// Byzantine is f, the number of Byzantine inputs to tolerate: TM trims f per side, Krum scores over
	// N − f − 2 neighbours. Negative counts as 0; each aggregator caps it so that something remains.
	Byzantine int
	// Center is where centered clipping starts (agreed state, e.g. the previous aggregate); nil means
	// the zero vector. Other aggregators ignore it.
	Center []float64
}

// Aggregator is a robust aggregation rule.
type Aggregator interface {
	// Name is the canonical spec: Parse(a.Name()) builds an equivalent aggregator.
	Name() string
	// Aggregate returns a new vector; inputs are never modified. Every input must have the same
	// non-zero length and be finite, else the error wraps ErrDimension or ErrNonFinite; no inputs give
	// ErrEmpty. The same inputs and context always give bit-identical output.
	Aggregate(inputs [][]float64, ctx Context) ([]float64, error)
}

// CheckInputs validates inputs and returns their common dimension: at least one input (ErrEmpty), all of
// the same non-zero length (ErrDimension), all entries finite (ErrNonFinite).
func CheckInputs(inputs [][]float64) (dim int, err error) {
	if len(inputs) == 0 {
		return 0, ErrEmpty
	}
	dim = len(inputs[0])
	if dim == 0 {
		return 0, fmt.Errorf("%w: input 0 is empty", ErrDimension)
	}
	for i, v := range inputs {
		if len(v) != dim {
			return 0, fmt.Errorf("%w: input %d has length %d, input 0 has %d", ErrDimension, i, len(v), dim)
		}
	}
	for i, v := range inputs {
		if !vec.AllFinite(v) {
			return 0, fmt.Errorf("%w: input %d has a NaN or infinite entry", ErrNonFinite, i)
		}
	}
	return dim, nil
}

// checkOutput refuses a non-finite result. Averages here are accumulated so that finite inputs cannot
// overflow (see addScaled), so this is a last guard: whatever happens, ±Inf or NaN never reaches the model.
func checkOutput(name string, out []float64) ([]float64, error) {
	if !vec.AllFinite(out) {
		return nil, fmt.Errorf("%w: %s result overflows", ErrNonFinite, name)
	}
	return out, nil
}

// byzantine is ctx.Byzantine clamped to [0, limit].
func byzantine(ctx Context, limit int) int {
	return max(0, min(ctx.Byzantine, limit))
}

// addScaled sets dst ← dst + v/n, written as float64((1/n)·v_c) + dst_c. Every average in this package
// is accumulated this way, term by term in a fixed order, rather than summed and then divided: the
// partial sums then never exceed the largest input in magnitude, so no finite inputs — however large a
// Byzantine member makes them — can overflow an average and make the round's aggregation fail.
func addScaled(dst, v []float64, n int) {
	vec.Axpy(1/float64(n), v, dst)
}
