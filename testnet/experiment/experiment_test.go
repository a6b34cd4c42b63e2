package experiment

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/byzpp/byzpp/algo/sim"
)

func TestPresetsMatchFigure1(t *testing.T) {
	want := map[string][]string{
		"fig1-left":   {"clip", "noclip"},
		"fig1-middle": {"partial", "full"},
		"fig1-right":  {"lambda=0.01", "lambda=0.1", "lambda=1", "lambda=10", "noclip"},
	}
	for name, series := range want {
		e, err := FromPreset(name, sim.Default(), Seeds(1, 3))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(e.Series) != len(series) {
			t.Fatalf("%s: %d series, want %v", name, len(e.Series), series)
		}
		for i, s := range e.Series {
			if s.Name != series[i] {
				t.Errorf("%s: series %d is %q, want %q", name, i, s.Name, series[i])
			}
			sp := s.Spec
			if sp.Data != "a9a" || sp.Members != 20 || sp.Byzantine != 5 || sp.Attack != "shb" || sp.Aggregator != "cm" ||
				sp.Bucket != 2 || sp.Batch != 32 || sp.Rounds != 10000 || sp.Schedule != 1000 || sp.LR != 0.1 {
				t.Errorf("%s/%s: not the Figure 1 setting: %+v", name, s.Name, sp)
			}
		}
		if got := len(e.Jobs()); got != 3*len(series) {
			t.Errorf("%s: %d jobs, want %d", name, got, 3*len(series))
		}
	}
	if _, err := FromPreset("fig2", sim.Default(), Seeds(1, 1)); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestLoadBareSpecAndErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	e, err := Load(write("spec.json", `{"attack": "alie", "lambda": "none", "seed": 9}`))
	if err != nil {
		t.Fatal(err)
	}
	s := e.Series[0].Spec
	if s.Attack != "alie" || s.Lambda != sim.NoClip || s.Members != 20 || e.Seeds[0] != 9 {
		t.Errorf("bare spec loaded as %+v (seeds %v)", s, e.Seeds)
	}
	for name, content := range map[string]string{
		"typo.json":  `{"atack": "alie"}`,
		"array.json": `[1, 2]`,
		"bad.json":   `{"series": [{"name": "a", "spec": {"n": "many"}}], "seeds": [1]}`,
	} {
		if _, err := Load(write(name, content)); err == nil {
			t.Errorf("%s loaded without error", name)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file loaded")
	}
}

func TestValidateRejectsDuplicateAndBadNames(t *testing.T) {
	base := sim.Default()
	for _, e := range []Experiment{
		{Seeds: []uint64{1}},
		{Series: []Series{{"a", base}}},
		{Seeds: []uint64{1}, Series: []Series{{"a", base}, {"a", base}}},
		{Seeds: []uint64{1}, Series: []Series{{"a,b", base}}},
	} {
		if err := e.Validate(); err == nil {
			t.Errorf("Validate accepted %+v", e)
		}
	}
}
