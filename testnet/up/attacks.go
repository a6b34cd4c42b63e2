package up

import (
	"fmt"
	"strings"

	"github.com/byzpp/byzpp/algo/attack"
)

// NetworkAttacks are the protocol-level behaviours a Byzantine peer can run (`peer run --attack`).
// They change what a peer does on the network, not the gradient it reports; the peer binary decides
// which of them it implements and refuses the others at start-up, which the harness reports.
var NetworkAttacks = []string{"badagg", "equivocate", "censor", "withhold", "invalid", "spam", "mute", "wrong-digest"}

// silentAtLearningLevel lists the network attacks whose round messages never arrive: the genesis
// (and therefore the simulator) sees them as the learning-level "silent" attack.
var silentAtLearningLevel = map[string]bool{"mute": true}

// IsNetworkAttack reports whether name (parameters allowed after ':') is a network-level attack.
func IsNetworkAttack(name string) bool {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(name)), ":")
	for _, a := range NetworkAttacks {
		if base == a {
			return true
		}
	}
	return false
}

// SplitAttacks parses a comma-separated attack list. Commas also separate an attack's parameters
// ("noise:sigma=1,mean=0"), so a piece that holds '=' but no ':' continues the previous attack.
func SplitAttacks(list string) ([]string, error) {
	var out []string
	for piece := range strings.SplitSeq(list, ",") {
		piece = strings.TrimSpace(piece)
		switch {
		case piece == "":
			return nil, fmt.Errorf("%w: empty attack in %q", ErrOptions, list)
		case strings.Contains(piece, "=") && !strings.Contains(piece, ":") && len(out) > 0:
			out[len(out)-1] += "," + piece
		default:
			out = append(out, piece)
		}
	}
	for _, a := range out {
		if IsNetworkAttack(a) {
			continue
		}
		if _, err := attack.Parse(a); err != nil {
			return nil, fmt.Errorf("%w: attack %q is neither a learning-level attack (%s) nor a network-level one (%s): %w",
				ErrOptions, a, strings.Join(attack.Names(), ", "), strings.Join(NetworkAttacks, ", "), err)
		}
	}
	return out, nil
}

// Assign gives the j-th of byz Byzantine peers attacks[j mod len(attacks)] (round-robin).
func Assign(attacks []string, byz int) []string {
	if len(attacks) == 0 {
		return nil
	}
	out := make([]string, byz)
	for j := range out {
		out[j] = attacks[j%len(attacks)]
	}
	return out
}

// learningEquivalent is what a peer running a (possibly network-level) attack does to the training
// maths: its own learning attack, "silent" when its round messages never arrive, "none" otherwise.
func learningEquivalent(a string) string {
	if !IsNetworkAttack(a) {
		return a
	}
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(a)), ":")
	if silentAtLearningLevel[base] {
		return "silent"
	}
	return "none"
}

// GenesisAttack is the learning-level attack the genesis (and the simulator) records for a run whose
// Byzantine peers run assigned. comparable is false when the peers do different things at learning
// level: the simulator gives every Byzantine member the same attack, so such a run has no sim twin
// (the genesis then records the first peer's). Network-level attacks can also break the comparison by
// costing rounds or attempts; Report.SimComparable accounts for that separately.
func GenesisAttack(assigned []string) (name string, comparable bool) {
	if len(assigned) == 0 {
		return "none", true
	}
	name = learningEquivalent(assigned[0])
	for _, a := range assigned[1:] {
		if learningEquivalent(a) != name {
			return name, false
		}
	}
	return name, true
}
