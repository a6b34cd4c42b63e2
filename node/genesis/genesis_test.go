package genesis

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/byzpp/byzpp/algo/sim"
)

func members(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "12D3KooW" + strings.Repeat(string(rune('A'+i)), 8)
	}
	return out
}

func TestSaveLoadKeepsRunID(t *testing.T) {
	spec := sim.Default()
	spec.Byzantine = 1
	ms := members(4)
	// New sorts whatever order it is given.
	g, err := New("test", []string{ms[2], ms[0], ms[3], ms[1]}, spec)
	if err != nil {
		t.Fatal(err)
	}
	if g.Spec.Members != 4 || len(g.Byzantine) != 1 || g.Byzantine[0] != 3 || g.MemberIndex(ms[1]) != 1 || g.MemberIndex("nobody") != -1 {
		t.Fatalf("genesis %+v", g)
	}
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := g.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := g.RunID()
	b, _ := back.RunID()
	if a != b {
		t.Fatal("run id changed across save and load")
	}
	back.Spec.LR *= 2
	if c, _ := back.RunID(); c == a {
		t.Error("changing the learning rate did not change the run id")
	}
}

func TestParseRejects(t *testing.T) {
	spec := sim.Default()
	g, err := New("x", members(3), spec)
	if err == nil {
		t.Fatalf("byz 5 of 3 members accepted: %+v", g)
	}
	spec.Byzantine = 0
	good, err := New("x", members(3), spec)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := good.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(raw); err != nil {
		t.Fatalf("a valid genesis does not parse: %v", err)
	}
	ms := members(3)
	cases := map[string]string{
		"unknown field": strings.Replace(string(raw), `"name"`, `"nmae"`, 1),
		"unsorted":      strings.Replace(strings.Replace(string(raw), ms[0], "TMP", 1), ms[2], ms[0], 1),
		"version":       strings.Replace(string(raw), `"version": 1`, `"version": 7`, 1),
		"not json":      "{",
		"n mismatch":    strings.Replace(string(raw), `"n": 3`, `"n": 4`, 1),
		"no tick":       strings.Replace(string(raw), `"tick_ms": 10`, `"tick_ms": 0`, 1),
	}
	for name, text := range cases {
		if text == string(raw) {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if _, err := Parse([]byte(text)); !errors.Is(err, ErrGenesis) {
			t.Errorf("%s: %v, want ErrGenesis", name, err)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	spec := sim.Default()
	spec.Byzantine = 0
	g, _ := New("fuzz", members(2), spec)
	raw, _ := g.Encode()
	f.Add(raw)
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		g, err := Parse(raw)
		if err != nil {
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("Parse returned an invalid genesis: %v", err)
		}
	})
}
