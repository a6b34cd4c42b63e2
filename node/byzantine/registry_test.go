package byzantine

import (
	"testing"

	"github.com/byzpp/byzpp/algo/attack"
	"github.com/byzpp/byzpp/node/adversary"
)

// attackChecks lists, by hand, every attack name node's attackMode understands and what parsing it
// alone must set. TestAttackRegistryMatchesNode checks it against the registry both ways and against
// protocolAttacks and falseStateAttacks, so a name added on one side only fails.
var attackChecks = map[string]func(attackMode) bool{
	AttackMute:                  func(a attackMode) bool { return a.mute },
	AttackWrongDigest:           func(a attackMode) bool { return a.wrongDigest },
	AttackBadAgg:                func(a attackMode) bool { return a.badAgg },
	AttackEquivocate:            func(a attackMode) bool { return a.equivocate },
	AttackDoubleVote:            func(a attackMode) bool { return a.doubleVote },
	AttackCensor:                func(a attackMode) bool { return a.censor },
	AttackWithhold:              func(a attackMode) bool { return a.withhold },
	AttackInvalid:               func(a attackMode) bool { return a.invalid },
	AttackUnsampled:             func(a attackMode) bool { return a.unsampled },
	AttackSpam:                  func(a attackMode) bool { return a.spam },
	AttackDropRelay:             func(a attackMode) bool { return a.dropRelay },
	AttackTamperRelay:           func(a attackMode) bool { return a.tamperRelay },
	AttackBadSigVotes:           func(a attackMode) bool { return a.badSigVotes },
	AttackVoteFlood:             func(a attackMode) bool { return a.voteFlood },
	AttackFalseStateDigest:      func(a attackMode) bool { return a.falseState == AttackFalseStateDigest },
	AttackFalseStateQuorum:      func(a attackMode) bool { return a.falseState == AttackFalseStateQuorum },
	AttackFalseStateBadSig:      func(a attackMode) bool { return a.falseState == AttackFalseStateBadSig },
	AttackFalseStateOtherHeight: func(a attackMode) bool { return a.falseState == AttackFalseStateOtherHeight },
	AttackFalseStateOlder:       func(a attackMode) bool { return a.falseState == AttackFalseStateOlder },
	// Learning-level: algo/attack crafts the round message.
	"bf":     learningIs("bf"),
	"lf":     learningIs("lf"),
	"alie":   learningIs("alie"),
	"ipm":    learningIs("ipm:eps=0.1"),
	"shb":    learningIs("shb"),
	"noise":  learningIs("noise:sigma=1"),
	"mimic":  learningIs("mimic"),
	"silent": learningIs("silent"),
}

func learningIs(name string) func(attackMode) bool {
	return func(a attackMode) bool { return a.learning != nil && a.learning.Name() == name }
}

func TestAttackRegistryMatchesNode(t *testing.T) {
	inRegistry := map[string]bool{}
	for _, a := range adversary.Registry {
		inRegistry[a.Name] = true
		check, ok := attackChecks[a.Name]
		if !ok {
			t.Errorf("registry attack %q (%s) is not understood by node", a.Name, a.Kind)
			continue
		}
		mode, err := parseAttack(a.Name)
		if err != nil {
			t.Errorf("parseAttack(%q): %v", a.Name, err)
			continue
		}
		if !check(mode) {
			t.Errorf("parseAttack(%q) = %+v", a.Name, mode)
		}
	}
	for name := range attackChecks {
		if !inRegistry[name] {
			t.Errorf("node understands attack %q, which the registry (node/adversary) does not list", name)
		}
	}
	implemented := len(protocolAttacks) + len(falseStateAttacks)
	for _, name := range attack.Names() {
		if name != "none" {
			implemented++
		}
	}
	if implemented != len(attackChecks) {
		t.Errorf("node implements %d attacks (protocolAttacks, falseStateAttacks, algo/attack), the table lists %d: update attackChecks and the registry",
			implemented, len(attackChecks))
	}
	for name := range protocolAttacks {
		if a, ok := adversary.Lookup(name); !ok || a.Kind != adversary.Protocol {
			t.Errorf("protocol attack %q: registry has %+v", name, a)
		}
	}
	for _, name := range falseStateAttacks {
		if a, ok := adversary.Lookup(name); !ok || a.Kind != adversary.StateServing {
			t.Errorf("state-serving attack %q: registry has %+v", name, a)
		}
	}
}
