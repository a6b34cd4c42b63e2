package method

import (
	"errors"
	"fmt"
	"math"

	"github.com/byzpp/byzpp/algo/agg"
	"github.com/byzpp/byzpp/algo/compress"
)

// Variants of the update rule.
const (
	VariantMarinaPP = "marina-pp"
	VariantSGDM     = "sgdm"
	VariantSGDMClip = "sgdm-clip"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid method configuration")

// Config fixes everything about the update rule that all participants must agree on.
type Config struct {
	Variant string
	Members int // n: members that may be sampled (indices 0..n-1)
	Sampled int // C: members sampled in a partial round (C = n is full participation)
	// Full rounds: either a Bernoulli coin with probability P (Schedule == 0), or the authors' code's
	// schedule of one full round at the start of every Schedule rounds. Round 0 is always full.
	P        float64
	Schedule int
	LR       float64 // γ
	// Lambda is the paper's λ: partial-round differences are clipped to λ‖x^{k+1} − x^k‖. +Inf disables
	// clipping (Byz-VR-MARINA). The authors' code's "clip mult" c multiplies ‖g^k‖ instead, so c = λγ.
	Lambda     float64
	Batch      int     // b: minibatch size of a partial round
	Momentum   float64 // β for the sgdm variants
	Aggregator agg.Aggregator
	Compressor compress.Compressor
	// Byzantine is the f handed to aggregators that need it (trimmed mean, Krum): how many inputs of a
	// round to tolerate. It is capped by the aggregator so that something remains.
	Byzantine int
}

// Clipping reports whether partial-round messages are clipped.
func (c *Config) Clipping() bool { return !math.IsInf(c.Lambda, 1) }

// Validate checks the configuration and returns an error wrapping ErrConfig that names the bad field.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	switch c.Variant {
	case VariantMarinaPP, VariantSGDM, VariantSGDMClip:
	default:
		return bad("unknown variant %q (want %s, %s or %s)", c.Variant, VariantMarinaPP, VariantSGDM, VariantSGDMClip)
	}
	switch {
	case c.Members < 1:
		return bad("members must be at least 1, got %d", c.Members)
	case c.Sampled < 1 || c.Sampled > c.Members:
		return bad("sampled members C must be in [1, %d], got %d", c.Members, c.Sampled)
	case c.Schedule < 0:
		return bad("schedule must be ≥ 0, got %d", c.Schedule)
	case c.Schedule == 0 && !(c.P >= 0 && c.P <= 1):
		return bad("p must be in [0, 1], got %v", c.P)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return bad("learning rate must be positive and finite, got %v", c.LR)
	case !(c.Lambda > 0):
		return bad("lambda must be positive (or +Inf for no clipping), got %v", c.Lambda)
	case c.Batch < 1:
		return bad("batch must be at least 1, got %d", c.Batch)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return bad("momentum must be in [0, 1), got %v", c.Momentum)
	case c.Aggregator == nil:
		return bad("no aggregator")
	case c.Compressor == nil:
		return bad("no compressor")
	case c.Byzantine < 0:
		return bad("byzantine count must be ≥ 0, got %d", c.Byzantine)
	}
	return nil
}
