package agg

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Upper bounds Parse accepts. They only stop a mistyped or hostile configuration from asking for work
// without end; useful values are far below.
const (
	maxIters       = 10000
	maxMultiKrum   = 1 << 20
	maxBucketSize  = 1 << 20
	maxNestedSpecs = 4
)

// Parse builds an aggregator from its spec: "mean", "cm", "tm", "krum", "mkrum:M", "gm" or
// "gm:iters=8,nu=0.1", "cclip" or "cclip:tau=10,iters=3" (options in any order, each optional), and
// "bucketS(spec)" for Bucketing(spec, S). Names are case-insensitive. Errors wrap ErrSpec.
func Parse(spec string) (Aggregator, error) {
	return parse(spec, 0)
}

// Names lists the base aggregators Parse accepts (each may also be wrapped as "bucketS(name)").
func Names() []string {
	return []string{"mean", "cm", "tm", "krum", "mkrum:M", "gm", "cclip"}
}

func parse(spec string, depth int) (Aggregator, error) {
	s := strings.ToLower(strings.TrimSpace(spec))
	if rest, ok := strings.CutPrefix(s, "bucket"); ok {
		if depth >= maxNestedSpecs {
			return nil, fmt.Errorf("%w: buckets nested more than %d deep in %q", ErrSpec, maxNestedSpecs, spec)
		}
		return parseBucketing(rest, depth)
	}
	name, opts, hasOpts := strings.Cut(s, ":")
	noOpts := func(a Aggregator) (Aggregator, error) {
		if hasOpts {
			return nil, fmt.Errorf("%w: %q takes no options, got %q", ErrSpec, name, opts)
		}
		return a, nil
	}
	switch name {
	case "mean":
		return noOpts(mean{})
	case "cm", "median":
		return noOpts(median{})
	case "tm", "trimmed":
		return noOpts(trimmed{})
	case "krum":
		return noOpts(krum{m: 1})
	case "mkrum":
		m, err := strconv.Atoi(opts)
		if !hasOpts || err != nil || m < 1 || m > maxMultiKrum {
			return nil, fmt.Errorf("%w: mkrum needs an integer M in [1, %d], e.g. mkrum:5; got %q", ErrSpec, maxMultiKrum, opts)
		}
		return krum{m: m}, nil
	case "gm", "rfa":
		g := geoMedian{iters: defaultGMIters, nu: defaultGMNu}
		err := parseOptions(name, opts, hasOpts, map[string]func(string) error{
			"iters": intOption(&g.iters),
			"nu":    positiveOption(&g.nu),
		})
		if err != nil {
			return nil, err
		}
		return g, nil
	case "cclip":
		c := centeredClip{tau: defaultCClipTau, iters: defaultCClipIters}
		err := parseOptions(name, opts, hasOpts, map[string]func(string) error{
			"tau":   positiveOption(&c.tau),
			"iters": intOption(&c.iters),
		})
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("%w: unknown aggregator %q (want one of %s, or bucketS(...))", ErrSpec, spec, strings.Join(Names(), ", "))
}

// parseBucketing parses "S(inner)", what follows "bucket".
func parseBucketing(rest string, depth int) (Aggregator, error) {
	size, inner, ok := strings.Cut(rest, "(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return nil, fmt.Errorf("%w: bucketing is written bucketS(aggregator), e.g. bucket2(cm); got %q", ErrSpec, "bucket"+rest)
	}
	s, err := strconv.Atoi(size)
	if err != nil || s < 1 || s > maxBucketSize {
		return nil, fmt.Errorf("%w: bucket size must be an integer in [1, %d], got %q", ErrSpec, maxBucketSize, size)
	}
	a, err := parse(strings.TrimSuffix(inner, ")"), depth+1)
	if err != nil {
		return nil, err
	}
	return Bucketing(a, s), nil
}

// parseOptions applies "key=value,key=value" to the setters; every key at most once, no unknown keys.
func parseOptions(name, opts string, hasOpts bool, setters map[string]func(string) error) error {
	if !hasOpts {
		return nil
	}
	seen := make([]string, 0, len(setters))
	for _, kv := range strings.Split(opts, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			return fmt.Errorf("%w: option %q of %s is not key=value", ErrSpec, kv, name)
		}
		set, known := setters[k]
		if !known {
			return fmt.Errorf("%w: %s has no option %q", ErrSpec, name, k)
		}
		for _, s := range seen {
			if s == k {
				return fmt.Errorf("%w: option %q of %s given twice", ErrSpec, k, name)
			}
		}
		seen = append(seen, k)
		if err := set(v); err != nil {
			return fmt.Errorf("%w: option %s of %s: %w", ErrSpec, k, name, err)
		}
	}
	return nil
}

func intOption(dst *int) func(string) error {
	return func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxIters {
			return fmt.Errorf("want an integer in [1, %d], got %q", maxIters, s)
		}
		*dst = n
		return nil
	}
}

func positiveOption(dst *float64) func(string) error {
	return func(s string) error {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || !(x > 0) || math.IsInf(x, 0) {
			return fmt.Errorf("want a finite number > 0, got %q", s)
		}
		*dst = x
		return nil
	}
}

// formatOption writes "key=value" with the shortest decimal form of value, which parses back to the
// same float64.
func formatOption(key string, value float64) string {
	return key + "=" + strconv.FormatFloat(value, 'g', -1, 64)
}
