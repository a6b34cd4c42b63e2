package up

import (
	"fmt"
	"strings"

	"github.com/byzpp/byzpp/node/adversary"
)

// NetworkAttacks are the protocol-level and state-serving attacks a Byzantine peer can run (`peer run
// --attack`), from node/adversary's registry. They change what a peer does on the network, not the
// gradient it reports. One peer can combine several, and at most one learning-level attack, with '+'
// ("equivocate+spam", "alie+censor").
var NetworkAttacks = adversary.Names(adversary.Protocol, adversary.StateServing)

// IsNetworkAttack reports whether name is a network-level (protocol or state-serving) attack.
func IsNetworkAttack(name string) bool {
	a, ok := adversary.Lookup(name)
	return ok && a.Kind != adversary.Learning
}

// simAs is what the simulator models a network-level attack as, when it does so exactly ("silent"
// for "mute", whose round messages never arrive), or "".
func simAs(name string) string {
	a, _ := adversary.Lookup(name)
	return a.SimAs
}

// PeerArg is the `peer run --attack` value for one peer's assignment: its parts, comma-separated.
func PeerArg(assignment string) string { return adversary.PeerList(assignment) }

// hasNetworkPart reports whether an assignment includes a network-level attack other than the ones
// the simulator models exactly ("mute", which it sees as "silent").
func hasNetworkPart(assignment string) bool {
	for _, p := range adversary.Parts(assignment) {
		if IsNetworkAttack(p) && simAs(p) == "" {
			return true
		}
	}
	return false
}

// SplitAttacks parses the --attack mix (adversary.ParseMix): a comma-separated list, one entry per
// Byzantine peer in turn, '+' joining several attacks for one peer; a piece that holds '=' but no ':'
// continues the previous attack's parameters ("noise:sigma=1,mean=0").
func SplitAttacks(list string) ([]string, error) {
	out, err := adversary.ParseMix(list)
	if err != nil {
		return nil, fmt.Errorf("%w: %w (learning-level: %s; network-level: %s)", ErrOptions, err,
			strings.Join(adversary.Names(adversary.Learning), ", "), strings.Join(NetworkAttacks, ", "))
	}
	return out, nil
}

// Assign gives the j-th of byz Byzantine peers attacks[j mod len(attacks)] (round-robin).
func Assign(attacks []string, byz int) []string { return adversary.Assign(attacks, byz) }

// learningEquivalent is what a peer running an assignment does to the training maths: "silent" when
// its round messages never arrive, its learning-level attack if it has one, "none" otherwise.
func learningEquivalent(assignment string) string {
	learning := "none"
	for _, p := range adversary.Parts(assignment) {
		switch {
		case simAs(p) != "":
			return simAs(p)
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
