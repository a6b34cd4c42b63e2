package up

import (
	"fmt"
	"strings"

	"github.com/byzpp/byzpp/algo/attack"
)

// NetworkAttacks are the protocol-level behaviours a Byzantine peer can run (`peer run --attack`;
// see node's Attack constants). They change what a peer does on the network, not the gradient it
// reports; the peer binary decides which it implements and refuses the others at start-up, which the
// harness reports. One peer can combine several, and at most one learning-level attack, with '+'
// ("equivocate+spam", "alie+censor").
var NetworkAttacks = []string{"badagg", "equivocate", "double-vote", "censor", "withhold", "invalid", "unsampled",
	"spam", "mute", "wrong-digest", "drop-relay", "tamper-relay"}

// silentAtLearningLevel lists the network attacks whose round messages never arrive: the genesis
// (and therefore the simulator) sees them as the learning-level "silent" attack.
var silentAtLearningLevel = map[string]bool{"mute": true}

// IsNetworkAttack reports whether name is a network-level attack.
func IsNetworkAttack(name string) bool {
	base := strings.ToLower(strings.TrimSpace(name))
	for _, a := range NetworkAttacks {
		if base == a {
			return true
		}
	}
	return false
}

// parts splits one peer's assignment ("alie:z=1+spam") into its attacks.
func parts(assignment string) []string {
	var out []string
	for p := range strings.SplitSeq(assignment, "+") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

// PeerArg is the `peer run --attack` value for one peer's assignment: its parts, comma-separated.
func PeerArg(assignment string) string { return strings.Join(parts(assignment), ",") }

// hasNetworkPart reports whether an assignment includes a network-level attack other than the ones
// the simulator models exactly ("mute", which it sees as "silent").
func hasNetworkPart(assignment string) bool {
	for _, p := range parts(assignment) {
		if IsNetworkAttack(p) && !silentAtLearningLevel[strings.ToLower(p)] {
			return true
		}
	}
	return false
}

// SplitAttacks parses a comma-separated attack list, one entry per Byzantine peer in turn. Commas
// also separate an attack's parameters ("noise:sigma=1,mean=0"), so a piece that holds '=' but no
// ':' continues the previous attack.
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
		learning := 0
		for _, p := range parts(a) {
			if IsNetworkAttack(p) {
				continue
			}
			if _, err := attack.Parse(p); err != nil {
				return nil, fmt.Errorf("%w: attack %q is neither a learning-level attack (%s) nor a network-level one (%s): %w",
					ErrOptions, p, strings.Join(attack.Names(), ", "), strings.Join(NetworkAttacks, ", "), err)
			}
			learning++
		}
		if learning > 1 {
			return nil, fmt.Errorf("%w: %q combines %d learning-level attacks; a peer runs at most one", ErrOptions, a, learning)
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

// learningEquivalent is what a peer running an assignment does to the training maths: "silent" when
// its round messages never arrive, its learning-level attack if it has one, "none" otherwise.
func learningEquivalent(assignment string) string {
	learning := "none"
	for _, p := range parts(assignment) {
		switch {
		case silentAtLearningLevel[strings.ToLower(p)]:
			return "silent"
		case !IsNetworkAttack(p):
			learning = p
		}
	}
	return learning
}

// GenesisAttack is the learning-level attack the genesis (and the simulator) records for a run whose
// Byzantine peers run assigned. uniform is false when the peers do different things at learning
// level: the simulator gives every Byzantine member the same attack, so such a run has no sim twin
// (the genesis then records the first peer's). Network-level attacks can also make the run differ
// from the simulator (a censoring leader drops messages); Report.SimComparable accounts for that.
func GenesisAttack(assigned []string) (name string, uniform bool) {
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
