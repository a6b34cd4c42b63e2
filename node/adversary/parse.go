package adversary

import (
	"fmt"
	"slices"
	"strings"

	"github.com/byzpp/byzpp/algo/attack"
)

// Peer is one peer's parsed attack list: what `peer run --attack` runs.
type Peer struct {
	// Learning is the learning-level attack spec as written ("alie:z=1.5"), checked by algo/attack.Parse;
	// "" when the peer's round messages are honest.
	Learning string
	// Protocol lists the protocol-level attacks, each once, in the order given.
	Protocol []string
	// StateServing is the state-serving attack, or "".
	StateServing string
}

// Honest reports whether the list names no attack.
func (p Peer) Honest() bool { return p.Learning == "" && len(p.Protocol) == 0 && p.StateServing == "" }

// Has reports whether the peer runs the protocol-level or state-serving attack name.
func (p Peer) Has(name string) bool {
	return slices.Contains(p.Protocol, name) || p.StateServing == name
}

// String is the list in ParsePeer's syntax: learning first, then protocol, then state-serving.
func (p Peer) String() string {
	var parts []string
	if p.Learning != "" {
		parts = append(parts, p.Learning)
	}
	parts = append(parts, p.Protocol...)
	if p.StateServing != "" {
		parts = append(parts, p.StateServing)
	}
	return strings.Join(parts, ",")
}

// ParsePeer parses a peer's attack list: attack names separated by ',' (case-insensitive; "" and
// "none" name no attack), any number of protocol-level ones and at most one learning-level and one
// state-serving attack. A learning-level attack may carry parameters ("alie:z=1.5", "noise:sigma=2"):
// a token of the form key=value right after a parameterised attack continues its parameter list
// ("noise:sigma=2,mean=0") rather than naming a new attack.
func ParsePeer(list string) (Peer, error) {
	var p Peer
	continues := false // the previous token was a learning-level attack with parameters
	for tok := range strings.SplitSeq(list, ",") {
		tok = strings.TrimSpace(tok)
		lower := strings.ToLower(tok)
		if strings.Contains(tok, "=") && !strings.Contains(tok, ":") {
			if !continues {
				return Peer{}, fmt.Errorf("%w: parameter %q follows no parameterised attack", ErrAttack, tok)
			}
			p.Learning += "," + tok
			continue
		}
		continues = false
		if lower == "" || lower == "none" || lower == "honest" {
			continue
		}
		name, _, params := strings.Cut(tok, ":")
		a, ok := Lookup(name)
		if !ok {
			return Peer{}, fmt.Errorf("%w: unknown attack %q (want one of %s)", ErrAttack, name, strings.Join(Names(), ", "))
		}
		if params && a.Kind != Learning {
			return Peer{}, fmt.Errorf("%w: %q takes no parameters", ErrAttack, tok)
		}
		switch a.Kind {
		case Learning:
			if p.Learning != "" {
				return Peer{}, fmt.Errorf("%w: attacks %q and %q: at most one learning-level attack", ErrAttack, p.Learning, tok)
			}
			p.Learning, continues = tok, params
		case Protocol:
			if !slices.Contains(p.Protocol, a.Name) {
				p.Protocol = append(p.Protocol, a.Name)
			}
		case StateServing:
			if p.StateServing != "" && p.StateServing != a.Name {
				return Peer{}, fmt.Errorf("%w: attacks %q and %q: at most one state-serving attack", ErrAttack, p.StateServing, a.Name)
			}
			p.StateServing = a.Name
		}
	}
	if p.Learning != "" {
		if _, err := attack.Parse(p.Learning); err != nil {
			return Peer{}, fmt.Errorf("%w: %w", ErrAttack, err)
		}
	}
	return p, nil
}

// ParseMix parses the harness's attack mix (`testnet up --attack`): a comma-separated list of
// assignments, dealt round-robin to the Byzantine peers (Assign); '+' joins several attacks for one
// peer ("alie+censor"). Commas also separate a learning-level attack's parameters ("noise:sigma=1,
// equivocate"), so a piece that holds '=' but no ':' continues the previous assignment. Every
// assignment must be a valid ParsePeer list.
func ParseMix(list string) ([]string, error) {
	var out []string
	for piece := range strings.SplitSeq(list, ",") {
		piece = strings.TrimSpace(piece)
		switch {
		case piece == "":
			return nil, fmt.Errorf("%w: empty attack in %q", ErrAttack, list)
		case strings.Contains(piece, "=") && !strings.Contains(piece, ":") && len(out) > 0:
			out[len(out)-1] += "," + piece
		default:
			out = append(out, piece)
		}
	}
	for _, a := range out {
		for _, part := range Parts(a) {
			if part == "" {
				return nil, fmt.Errorf("%w: empty attack in %q", ErrAttack, a)
			}
		}
		if _, err := ParsePeer(PeerList(a)); err != nil {
			return nil, fmt.Errorf("assignment %q: %w", a, err)
		}
	}
	return out, nil
}

// Parts splits one assignment of a mix ("alie:z=1+spam") into its attacks.
func Parts(assignment string) []string {
	var out []string
	for p := range strings.SplitSeq(assignment, "+") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

// PeerList is the peer's attack list (`peer run --attack`) for one assignment of a mix: its parts
// joined with ','.
func PeerList(assignment string) string { return strings.Join(Parts(assignment), ",") }

// Assign gives the j-th of byz Byzantine peers assignments[j mod len(assignments)] (round-robin).
func Assign(assignments []string, byz int) []string {
	if len(assignments) == 0 {
		return nil
	}
	out := make([]string, byz)
	for j := range out {
		out[j] = assignments[j%len(assignments)]
	}
	return out
}
