package compress

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/byzpp/byzpp/algo/vec"
)

// ErrSpec is wrapped by every Parse error.
var ErrSpec = errors.New("invalid compressor spec")

// Compressor is an unbiased random compressor.
type Compressor interface {
	// Name is the canonical spec: Parse(c.Name()) builds an equivalent compressor.
	Name() string
	// Omega is the variance parameter ω for dimension d: E‖Q(v) − v‖² ≤ ω‖v‖² for every v ∈ R^d.
	Omega(d int) float64
	// Compress returns Q(v), a new vector (v is neither kept nor modified) with E Q(v) = v. r is the
	// member's stream rng.New(seed, round, rng.Compress, member); the result is a function of v and r only.
	Compress(v []float64, r *rand.Rand) Vector
}

// Largest parameters Parse accepts. They are far beyond any useful setting; the caps only keep a hostile
// or mistyped config from producing absurd names or arithmetic.
const (
	maxK      = math.MaxUint32
	maxLevels = 1 << 30
)

// Parse builds a compressor from its spec: "none", "randk:K" (K ≥ 1 coordinates, capped at d),
// "randk:F" (a fraction 0 < F ≤ 1 of d, rounded up, at least 1; F must be written with a '.' or an
// exponent, so "randk:1" is one coordinate and "randk:1.0" all of them), "dither:S" (S ≥ 1 levels) or
// "natural". Errors wrap ErrSpec.
func Parse(spec string) (Compressor, error) {
	name, arg, hasArg := strings.Cut(strings.TrimSpace(spec), ":")
	name = strings.ToLower(strings.TrimSpace(name))
	arg = strings.TrimSpace(arg)
	noArg := func(c Compressor) (Compressor, error) {
		if hasArg {
			return nil, fmt.Errorf("%w: %q takes no parameter, got %q", ErrSpec, name, arg)
		}
		return c, nil
	}
	switch name {
	case "none", "identity":
		return noArg(identity{})
	case "natural":
		return noArg(natural{})
	case "randk":
		if !hasArg {
			return nil, fmt.Errorf("%w: randk needs K or a fraction, e.g. randk:10 or randk:0.05", ErrSpec)
		}
		return parseRandK(arg)
	case "dither":
		if !hasArg {
			return nil, fmt.Errorf("%w: dither needs the number of levels, e.g. dither:16", ErrSpec)
		}
		s, err := strconv.Atoi(arg)
		if err != nil || s < 1 || s > maxLevels {
			return nil, fmt.Errorf("%w: dither levels must be an integer in [1, %d], got %q", ErrSpec, maxLevels, arg)
		}
		return dither{levels: s}, nil
	}
	return nil, fmt.Errorf("%w: unknown compressor %q (want none, randk:K, randk:F, dither:S or natural)", ErrSpec, spec)
}

func parseRandK(arg string) (Compressor, error) {
	if k, err := strconv.Atoi(arg); err == nil {
		if k < 1 || k > maxK {
			return nil, fmt.Errorf("%w: randk K must be in [1, %d], got %d", ErrSpec, maxK, k)
		}
		return randK{k: k}, nil
	}
	f, err := strconv.ParseFloat(arg, 64)
	if err != nil || !(f > 0 && f <= 1) {
		return nil, fmt.Errorf("%w: randk takes an integer K ≥ 1 or a fraction in (0, 1], got %q", ErrSpec, arg)
	}
	return randK{frac: f}, nil
}

// identity is "none": Q(v) = v, ω = 0.
type identity struct{}

func (identity) Name() string      { return "none" }
func (identity) Omega(int) float64 { return 0 }
func (identity) Compress(v []float64, _ *rand.Rand) Vector {
	return Dense(vec.Clone(v))
}
