package adversary

import (
	"errors"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/byzpp/byzpp/algo/attack"
)

// TestRegistry: names are unique (aliases included), lower-case, with help; the learning-level ones are
// exactly algo/attack's (less "none", which names no attack), with the parameters Parse accepts.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range Registry {
		for _, n := range append([]string{a.Name}, a.Aliases...) {
			if seen[n] || n != strings.ToLower(n) || strings.ContainsAny(n, ",+:= ") {
				t.Errorf("name %q duplicated or unusable", n)
			}
			seen[n] = true
		}
		if a.Help == "" || strings.Contains(a.Help, "\n") {
			t.Errorf("%s: help must be one line", a.Name)
		}
		if a.Kind != Learning && (len(a.Params) > 0 || len(a.Aliases) > 0) {
			t.Errorf("%s: only learning-level attacks take parameters or aliases", a.Name)
		}
		for _, p := range a.Params {
			if _, err := attack.Parse(a.Name + ":" + p.Name + "=1"); err != nil {
				t.Errorf("%s: parameter %s: %v", a.Name, p.Name, err)
			}
		}
		if a.SimAs != "" {
			if s, ok := Lookup(a.SimAs); !ok || s.Kind != Learning {
				t.Errorf("%s: SimAs %q is not a learning-level attack", a.Name, a.SimAs)
			}
		}
	}
	want := slices.DeleteFunc(attack.Names(), func(n string) bool { return n == "none" })
	if got := Names(Learning); !slices.Equal(got, want) {
		t.Errorf("learning-level names %v, algo/attack has %v", got, want)
	}
	for _, a := range Registry {
		if a.Kind == Learning {
			if _, err := attack.Parse(a.Name); err != nil {
				t.Errorf("algo/attack refuses %q: %v", a.Name, err)
			}
			for _, alias := range a.Aliases {
				x, err1 := attack.Parse(alias)
				y, err2 := attack.Parse(a.Name)
				if err1 != nil || err2 != nil || x.Name() != y.Name() {
					t.Errorf("alias %q of %q: %v %v", alias, a.Name, err1, err2)
				}
			}
		}
	}
}

// TestEveryNameParses: every registry name (and alias) parses alone, as a peer's list and as a mix,
// upper-case too, and a parameterised spec keeps its parameters.
func TestEveryNameParses(t *testing.T) {
	for _, a := range Registry {
		for _, n := range append([]string{a.Name}, a.Aliases...) {
			for _, spec := range []string{n, strings.ToUpper(n)} {
				p, err := ParsePeer(spec)
				if err != nil {
					t.Errorf("ParsePeer(%q): %v", spec, err)
					continue
				}
				switch a.Kind {
				case Learning:
					if p.Learning != spec || len(p.Protocol) > 0 || p.StateServing != "" {
						t.Errorf("ParsePeer(%q) = %+v", spec, p)
					}
				default:
					if !p.Has(a.Name) || p.Learning != "" {
						t.Errorf("ParsePeer(%q) = %+v", spec, p)
					}
				}
				if mix, err := ParseMix(spec); err != nil || !slices.Equal(mix, []string{spec}) {
					t.Errorf("ParseMix(%q) = %q, %v", spec, mix, err)
				}
			}
		}
		for _, p := range a.Params {
			spec := a.Name + ":" + p.Name + "=0.5"
			if got, err := ParsePeer(spec + ",spam"); err != nil || got.Learning != spec || !got.Has("spam") {
				t.Errorf("ParsePeer(%q): %+v, %v", spec+",spam", got, err)
			}
		}
	}
	all, err := ParsePeer(strings.Join(Names(Protocol), ","))
	if err != nil || !slices.Equal(all.Protocol, Names(Protocol)) {
		t.Errorf("every protocol-level attack together: %+v, %v", all, err)
	}
}

func TestParsePeer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // Peer.String(); "!" for an error
	}{
		{"", ""},
		{"none", ""},
		{" equivocate , censor ", "equivocate,censor"},
		{"WITHHOLD", "withhold"},
		{"spam,ipm", "ipm,spam"},
		{"badagg,alie:z=1.5", "alie:z=1.5,badagg"},
		{"noise:sigma=2,equivocate", "noise:sigma=2,equivocate"},
		{"spam,spam", "spam"},
		{"falsestate-older,mute", "mute,falsestate-older"},
		{"badsig-votes,vote-flood", "badsig-votes,vote-flood"},
		{"ipm,alie", "!"},                           // two learning-level attacks
		{"falsestate-older,falsestate-digest", "!"}, // two state-serving ones
		{"z=1", "!"},              // a parameter of nothing
		{"alie,z=1", "!"},         // alie was not given parameters with ':'
		{"spam,eps=1", "!"},       // a parameter continues only a learning-level attack
		{"alie:z=1,scale=2", "!"}, // alie takes no "scale"
		{"spam:rate=2", "!"},
		{"no-such-attack", "!"},
	} {
		p, err := ParsePeer(tc.in)
		switch {
		case tc.want == "!" && err == nil:
			t.Errorf("ParsePeer(%q) = %+v, want an error", tc.in, p)
		case tc.want == "!" && !errors.Is(err, ErrAttack):
			t.Errorf("ParsePeer(%q): %v does not wrap ErrAttack", tc.in, err)
		case tc.want != "!" && (err != nil || p.String() != tc.want):
			t.Errorf("ParsePeer(%q) = %q, %v; want %q", tc.in, p.String(), err, tc.want)
		}
	}
}

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "shb", want: []string{"shb"}},
		{in: "equivocate,alie", want: []string{"equivocate", "alie"}},
		{in: "alie, ipm:eps=0.5,spam", want: []string{"alie", "ipm:eps=0.5", "spam"}},
		{in: "noise:sigma=2,equivocate", want: []string{"noise:sigma=2", "equivocate"}},
		{in: "alie:z=1,scale=2", err: true},
		{in: "alie+censor,equivocate+spam", want: []string{"alie+censor", "equivocate+spam"}},
		{in: "badsig-votes,vote-flood+falsestate-quorum", want: []string{"badsig-votes", "vote-flood+falsestate-quorum"}},
		{in: "", err: true},
		{in: "shb,,alie", err: true},
		{in: "shb+", err: true},
		{in: "nosuch", err: true},
		{in: "alie+shb", err: true},
		{in: "sigma=1", err: true},
	} {
		got, err := ParseMix(tc.in)
		if (err != nil) != tc.err || err != nil && !errors.Is(err, ErrAttack) || !tc.err && !slices.Equal(got, tc.want) {
			t.Errorf("ParseMix(%q) = %q, %v", tc.in, got, err)
		}
	}
	if PeerList("alie:z=1+censor") != "alie:z=1,censor" {
		t.Error("PeerList does not join parts with commas")
	}
	if got := Assign([]string{"a", "b"}, 5); !slices.Equal(got, []string{"a", "b", "a", "b", "a"}) {
		t.Errorf("Assign = %q", got)
	}
}

// TestUsageNamesEveryAttack: the CLIs' help lists every name.
func TestUsageNamesEveryAttack(t *testing.T) {
	u := Usage("  ")
	for _, a := range Registry {
		if !regexp.MustCompile(`(?m)^    ` + regexp.QuoteMeta(a.Name) + `\b`).MatchString(u) {
			t.Errorf("Usage does not list %q:\n%s", a.Name, u)
		}
	}
}

// TestREADMEListsEveryAttack: the README's `--attack` paragraph (the one that begins "`--attack`
// mixes") names every attack of the registry in backticks. A backticked glob such as `falsestate-*`
// names every attack it matches.
func TestREADMEListsEveryAttack(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n`--attack` mixes")
	if start < 0 {
		t.Fatal("README.md has no paragraph beginning \"`--attack` mixes\"")
	}
	para := text[start+1:]
	if end := strings.Index(para, "\n\n"); end >= 0 {
		para = para[:end]
	}
	var words []string
	for _, m := range regexp.MustCompile("`([^`]*)`").FindAllStringSubmatch(para, -1) {
		words = append(words, strings.Fields(m[1])...)
	}
	mentioned := func(name string) bool {
		for _, w := range words {
			if ok, _ := path.Match(w, name); ok {
				return true
			}
		}
		return false
	}
	for _, a := range Registry {
		if !mentioned(a.Name) {
			t.Errorf("README.md's --attack paragraph does not mention %s attack %q (%s)", a.Kind, a.Name, a.Help)
		}
	}
}
