// Package adversary is the one list of the attacks a Byzantine testnet peer can run (`peer run
// --attack LIST`, `testnet up --attack MIX`): every name with its kind, parameters and one-line help,
// and the two parsers of their user-visible syntax — a peer's attack list and the harness's mix of
// per-peer assignments. node, testnet/up, both CLIs' help texts and the README's list all come from
// (or are checked against) Registry.
//
// May import: the standard library and algo/attack (to check learning-level specs); never node.
//
// The attacks themselves are implemented where they act: the learning-level ones in algo/attack (a
// member's round message), the protocol-level and state-serving ones in node/byzantine.
package adversary

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrAttack is wrapped by every parse error.
var ErrAttack = errors.New("invalid attack")

// Kind says where an attack acts.
type Kind int

const (
	// Learning attacks craft the member's round message from what it sees (algo/attack); a peer runs
	// at most one.
	Learning Kind = iota
	// Protocol attacks change what the peer does in consensus, gossip or direct streams (node); any
	// number combine.
	Protocol
	// StateServing attacks answer state requests from laggards with a state they must refuse; the peer
	// otherwise takes part honestly. A peer runs at most one.
	StateServing
)

func (k Kind) String() string {
	switch k {
	case Learning:
		return "learning"
	case Protocol:
		return "protocol"
	case StateServing:
		return "state-serving"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Param is a numeric parameter of a learning-level attack ("alie:z=1.5").
type Param struct {
	Name, Default, Help string
}

// Attack describes one attack name.
type Attack struct {
	Name    string
	Aliases []string // other spellings the parsers accept (learning-level only)
	Kind    Kind
	Help    string // one line
	Params  []Param
	// SimAs is the learning-level attack the simulator models this one as, when that model is exact
	// ("silent" for a peer that sends nothing); "" when the simulator does not model it (protocol and
	// state-serving attacks) or for a learning-level attack (which is its own model).
	SimAs string
}

// Registry lists every attack, learning-level first, each kind in the order the help texts show.
var Registry = []Attack{
	// Learning-level: algo/attack.
	{Name: "bf", Aliases: []string{"signflip"}, Kind: Learning, Help: "bit/sign flip: the negative of the honest message"},
	{Name: "lf", Aliases: []string{"labelflip"}, Kind: Learning, Help: "label flip: an honest computation with labels y → 1 − y"},
	{Name: "alie", Kind: Learning, Help: "A Little Is Enough: μ − z·σ coordinate-wise over the honest messages",
		Params: []Param{{Name: "z", Default: "from n and B", Help: "how many standard deviations to shift"}}},
	{Name: "ipm", Kind: Learning, Help: "Inner Product Manipulation: −ε·μ of the honest messages",
		Params: []Param{{Name: "eps", Default: "0.1", Help: "ε"}}},
	{Name: "shb", Aliases: []string{"shiftback"}, Kind: Learning, Help: "Shift-Back: with a Byzantine majority in the sample, move the model back to x^0"},
	{Name: "noise", Aliases: []string{"gaussian"}, Kind: Learning, Help: "Gaussian noise N(0, σ²) per coordinate",
		Params: []Param{{Name: "sigma", Default: "1", Help: "σ, finite and ≥ 0"}}},
	{Name: "mimic", Kind: Learning, Help: "copy the message of the sample's lowest-indexed honest member"},
	{Name: "silent", Kind: Learning, Help: "send no round message"},

	// Protocol-level: node/byzantine.
	{Name: "mute", Kind: Protocol, SimAs: "silent", Help: "send nothing at all: no round message, proposal or vote"},
	{Name: "wrong-digest", Kind: Protocol, Help: "as leader, propose a wrong state digest"},
	{Name: "badagg", Kind: Protocol, Help: "as leader, propose the state digest of a different aggregate"},
	{Name: "equivocate", Kind: Protocol, Help: "as leader, two proposals per slot, one to each half of the peers; two votes per slot"},
	{Name: "double-vote", Kind: Protocol, Help: "sign two different votes for every vote slot"},
	{Name: "censor", Kind: Protocol, Help: "as leader, leave out honest messages, proposing at the end of a stretched collection window"},
	{Name: "withhold", Kind: Protocol, Help: "never vote"},
	{Name: "invalid", Kind: Protocol, Help: "malformed, oversized, NaN, wrong-round, wrong-dimension, replayed, unsampled messages and requests"},
	{Name: "unsampled", Kind: Protocol, Help: "send a signed round message every round, sampled or not"},
	{Name: "spam", Kind: Protocol, Help: "rate-bounded duplicate, stale and future messages"},
	{Name: "drop-relay", Kind: Protocol, Help: "as leader, forward none of the votes sent to it for relaying"},
	{Name: "tamper-relay", Kind: Protocol, Help: "as leader, forward the votes sent to it with wrong MACs"},
	{Name: "badsig-votes", Kind: Protocol, Help: "send every vote with a corrupted signature over its own channels"},
	{Name: "vote-flood", Kind: Protocol, Help: "validly signed votes for attempts nobody uses, 5,000 a second, to every member"},

	// State-serving: node/byzantine/attack_falsestate.go.
	{Name: "falsestate-digest", Kind: StateServing, Help: "serve a certified proposal and certificate with a different state"},
	{Name: "falsestate-quorum", Kind: StateServing, Help: "serve a certificate one correctly signed precommit short of a quorum"},
	{Name: "falsestate-badsig", Kind: StateServing, Help: "serve a quorum certificate with one signature's bit flipped"},
	{Name: "falsestate-otherheight", Kind: StateServing, Help: "serve a certificate signed with the previous height's precommits"},
	{Name: "falsestate-older", Kind: StateServing, Help: "serve the previous height's state relabelled as the latest"},
}

// Lookup finds an attack by name or alias, case-insensitively, without parameters ("alie", not
// "alie:z=1").
func Lookup(name string) (Attack, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, a := range Registry {
		if a.Name == name || slices.Contains(a.Aliases, name) {
			return a, true
		}
	}
	return Attack{}, false
}

// Names lists the registry's names of the given kinds (every kind when none is given), in registry
// order.
func Names(kinds ...Kind) []string {
	var out []string
	for _, a := range Registry {
		if len(kinds) == 0 || slices.Contains(kinds, a.Kind) {
			out = append(out, a.Name)
		}
	}
	return out
}

// kindOf returns the kind of one attack spec ("alie:z=1" is learning-level), and whether it is known.
func kindOf(spec string) (Kind, bool) {
	name, _, _ := strings.Cut(spec, ":")
	a, ok := Lookup(name)
	return a.Kind, ok
}

// Usage is the help text of the attack names, one per line by kind, each line indented by indent:
// `peer run --attack` and `testnet up --attack` print it.
func Usage(indent string) string {
	var b strings.Builder
	for _, k := range []Kind{Learning, Protocol, StateServing} {
		fmt.Fprintf(&b, "%s%s (%s):\n", indent, k, kindRule[k])
		for _, a := range Registry {
			if a.Kind != k {
				continue
			}
			name, help := a.Name, a.Help
			for i, p := range a.Params {
				name += fmt.Sprintf("[%s%s=…]", map[bool]string{true: ":", false: ","}[i == 0], p.Name)
				help += fmt.Sprintf("; %s: %s (default %s)", p.Name, p.Help, p.Default)
			}
			fmt.Fprintf(&b, "%s  %-22s %s\n", indent, name, help)
		}
	}
	return b.String()
}

var kindRule = map[Kind]string{Learning: "at most one per peer", Protocol: "any number", StateServing: "at most one per peer"}
