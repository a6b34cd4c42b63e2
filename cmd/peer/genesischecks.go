package main

import (
	"flag"
	"fmt"
	"math"

	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/sim"
)

// maxBFTByzantine is the most Byzantine members n members tolerate in consensus: the largest b with
// n > 3b.
func maxBFTByzantine(n int) int { return max(0, (n-1)/3) }

// checkGenesisFlags refuses an unusable number given to `peer genesis`, naming its flag.
func checkGenesisFlags(fs *flag.FlagSet, set map[string]bool, s *sim.Spec, tick, maxMembers, silent int) error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	rules := []struct {
		name string
		bad  bool
		want string
	}{
		{"byz", s.Byzantine < 0, "0 or more"},
		{"rounds", s.Rounds < 1, "at least 1"},
		{"eval-every", s.EvalEvery < 1, "at least 1"},
		{"batch", s.Batch < 1, "at least 1"},
		{"bucket", s.Bucket < 0, "0 or more"},
		{"schedule", s.Schedule < 0, "0 (Bernoulli coin) or more"},
		{"participation", !(s.Participation > 0 && s.Participation <= 1), "in (0, 1]"},
		{"lr", !(s.LR > 0 && finite(s.LR)), "a positive number"},
		{"tick-ms", tick < 1, "at least 1"},
		{"max-members", maxMembers < 0, "0 (4 × the members) or more"},
		{"silent-rounds", silent < 0, "0 (never) or more"},
	}
	for _, r := range rules {
		if set[r.name] && r.bad {
			return fmt.Errorf("--%s must be %s, got %s", r.name, r.want, fs.Lookup(r.name).Value.String())
		}
	}
	return nil
}

// checkData reads the spec's data set and held-out set as every peer will, so a missing or malformed
// file is refused here with its name and line (data.ParseError) instead of failing at every peer.
func checkData(s *sim.Spec) error {
	d, err := data.Load(s.Data, data.ReadOptions{Features: s.Features})
	if err != nil {
		return fmt.Errorf("--data %s: %w", s.Data, err)
	}
	if name := s.TestDataName(); name != "" {
		if _, err := data.Load(name, data.ReadOptions{Features: d.Features}); err != nil {
			return fmt.Errorf("--test-data %s: %w", name, err)
		}
	}
	return nil
}
