package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/testnet/experiment"
)

// flagRule is a condition on one flag's value: bad when the given value is unusable.
type flagRule struct {
	name string
	bad  bool
	want string
}

// checkFlags returns an error naming the first given flag whose value breaks its rule.
func checkFlags(fs *flag.FlagSet, set map[string]bool, rules []flagRule) error {
	for _, r := range rules {
		if set[r.name] && r.bad {
			return fmt.Errorf("--%s must be %s, got %s", r.name, r.want, fs.Lookup(r.name).Value.String())
		}
	}
	return nil
}

// specRules are the rules of the spec flags (bindSpecFlags), so a bad number is refused naming its
// flag rather than a field of the JSON spec.
func specRules(v *sim.Spec) []flagRule {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	return []flagRule{
		{"n", v.Members < 1, "at least 1"},
		{"byz", v.Byzantine < 0, "0 or more"},
		{"rounds", v.Rounds < 1, "at least 1"},
		{"eval-every", v.EvalEvery < 1, "at least 1"},
		{"batch", v.Batch < 1, "at least 1"},
		{"hidden", v.Hidden < 1, "at least 1"},
		{"features", v.Features < 0, "0 (from the file) or more"},
		{"bucket", v.Bucket < 0, "0 or more"},
		{"agg-byz", v.AggByzantine < -1, "-1 (the number of Byzantine members) or more"},
		{"schedule", v.Schedule < 0, "0 (Bernoulli coin) or more"},
		{"p", !(v.P >= 0 && v.P <= 1), "in [0, 1]"},
		{"participation", !(v.Participation > 0 && v.Participation <= 1), "in (0, 1]"},
		{"lr", !(v.LR > 0 && finite(v.LR)), "a positive number"},
		{"l2", !(v.L2 >= 0 && finite(v.L2)), "0 or a positive number"},
		{"momentum", !(v.Momentum >= 0 && v.Momentum < 1), "in [0, 1)"},
	}
}

// maxBFTByzantine is the most Byzantine members n members tolerate in consensus: the largest b with
// n > 3b.
func maxBFTByzantine(n int) int { return max(0, (n-1)/3) }

// defaultByzantine applies the rule for --byz when -n is given without it: the series keeps its
// Byzantine count (5 in the defaults and presets) if n > 3·byz, else takes the most n tolerates. It
// prints what it chose to note.
func defaultByzantine(exp *experiment.Experiment, set map[string]bool, note io.Writer) {
	if !set["n"] || set["byz"] {
		return
	}
	for i := range exp.Series {
		s := &exp.Series[i].Spec
		if b := maxBFTByzantine(s.Members); s.Byzantine > b {
			fmt.Fprintf(note, "note: --byz not given: %d Byzantine of %d members (the most with n > 3·byz; give --byz to choose)\n", b, s.Members)
			s.Byzantine = b
			if b == 0 {
				s.Attack = "none"
			}
		}
	}
}

// checkBFT refuses a series with too many Byzantine members for consensus (testnet up).
func checkBFT(exp *experiment.Experiment) error {
	for _, s := range exp.Series {
		n, b := s.Spec.Members, s.Spec.Byzantine
		if 3*b >= n {
			return fmt.Errorf("--byz %d with -n %d: consensus (BFT) needs n > 3·byz, so at most %d Byzantine of %d members; lower --byz or raise -n to %d",
				b, n, maxBFTByzantine(n), n, 3*b+1)
		}
	}
	return nil
}

// warnSingleSample warns when a partial round samples one member: a lone Byzantine member then makes
// that round's whole update (clipped).
func warnSingleSample(exp *experiment.Experiment, note io.Writer) {
	for _, s := range exp.Series {
		sp := s.Spec
		if sp.Sampled() == 1 && sp.Members > 1 && sp.Variant == "marina-pp" {
			fmt.Fprintf(note, "warning: series %s: a partial round samples a single member (--participation %g of %d members): "+
				"when it is Byzantine, it alone makes that round's update; raise --participation to at least %g to sample two\n",
				s.Name, sp.Participation, sp.Members, 2/float64(sp.Members))
		}
	}
}

// parseLevel reads a --log-level value.
func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	switch s {
	case "debug", "info", "warn", "error":
		return l, l.UnmarshalText([]byte(s))
	}
	return l, fmt.Errorf("--log-level must be debug, info, warn or error, got %q", s)
}
