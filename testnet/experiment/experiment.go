package experiment

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/byzpp/byzpp/algo/sim"
)

// ErrConfig is wrapped by every experiment configuration error.
var ErrConfig = errors.New("invalid experiment")

// Series is one curve of an experiment.
type Series struct {
	Name string   `json:"name"`
	Spec sim.Spec `json:"spec"`
}

// Experiment is the whole resolved configuration of a run.
type Experiment struct {
	Preset string   `json:"preset,omitempty"`
	Seeds  []uint64 `json:"seeds"`
	Series []Series `json:"series"`
}

// Seeds returns count consecutive seeds starting at first.
func Seeds(first uint64, count int) []uint64 {
	out := make([]uint64, count)
	for i := range out {
		out[i] = first + uint64(i)
	}
	return out
}

// Jobs expands the experiment into one simulator job per (series, seed).
func (e *Experiment) Jobs() []sim.Job {
	var jobs []sim.Job
	for _, s := range e.Series {
		for _, seed := range e.Seeds {
			spec := s.Spec
			spec.Seed = seed
			jobs = append(jobs, sim.Job{Series: s.Name, Spec: spec})
		}
	}
	return jobs
}

// Validate checks every series.
func (e *Experiment) Validate() error {
	if len(e.Seeds) == 0 {
		return fmt.Errorf("%w: no seeds", ErrConfig)
	}
	if len(e.Series) == 0 {
		return fmt.Errorf("%w: no series", ErrConfig)
	}
	names := map[string]bool{}
	for _, s := range e.Series {
		if s.Name == "" || strings.ContainsAny(s.Name, ",\"\n") {
			return fmt.Errorf("%w: series name %q must be non-empty and free of commas, quotes and newlines", ErrConfig, s.Name)
		}
		if names[s.Name] {
			return fmt.Errorf("%w: two series named %q", ErrConfig, s.Name)
		}
		names[s.Name] = true
		if err := s.Spec.Validate(); err != nil {
			return fmt.Errorf("series %q: %w", s.Name, err)
		}
	}
	return nil
}

// Presets lists the preset names.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// presets reproduce the panels of the paper's Figure 1 (a9a, 15 honest + 5 Byzantine members holding
// all the data, Shift-Back, CM with buckets of 2, no compression, b = 32, γ = 0.1, 10 code epochs of
// 1000 rounds with one full round at the start of each, 3 seeds).
var presets = map[string]func(base sim.Spec) []Series{
	// Left: clipping is what makes partial participation safe.
	"fig1-left": func(b sim.Spec) []Series {
		return []Series{with(b, "clip", func(s *sim.Spec) { s.Lambda = 1 }), with(b, "noclip", func(s *sim.Spec) { s.Lambda = sim.NoClip })}
	},
	// Middle: 20% participation against full participation, both clipped.
	"fig1-middle": func(b sim.Spec) []Series {
		return []Series{with(b, "partial", func(s *sim.Spec) { s.Participation = 0.2 }), with(b, "full", func(s *sim.Spec) { s.Participation = 1 })}
	},
	// Right: the clipping multiplier λ.
	"fig1-right": func(b sim.Spec) []Series {
		var out []Series
		for _, l := range []sim.Lambda{0.01, 0.1, 1, 10} {
			out = append(out, with(b, "lambda="+l.String(), func(s *sim.Spec) { s.Lambda = l }))
		}
		return append(out, with(b, "noclip", func(s *sim.Spec) { s.Lambda = sim.NoClip }))
	},
}

func with(base sim.Spec, name string, edit func(*sim.Spec)) Series {
	s := base
	edit(&s)
	return Series{Name: name, Spec: s}
}

// FromPreset returns the named preset over base (normally sim.Default()).
// Every preset uses the authors' schedule (one full round at the start of each of their epochs of
// 1000 rounds), which is what produced the paper's figure.
func FromPreset(name string, base sim.Spec, seeds []uint64) (*Experiment, error) {
	p, ok := presets[name]
	if !ok {
		return nil, fmt.Errorf("%w: unknown preset %q (have %s)", ErrConfig, name, strings.Join(Presets(), ", "))
	}
	base.Schedule = 1000
	return &Experiment{Preset: name, Seeds: seeds, Series: p(base)}, nil
}

// Load reads a config file: either an Experiment (as written to config.json) or a bare sim.Spec whose
// fields override the defaults.
func Load(path string) (*Experiment, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("%w: %s is not a JSON object: %w", ErrConfig, path, err)
	}
	if _, ok := probe["series"]; ok {
		var e Experiment
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
		}
		// Fields a series' spec omits keep their defaults.
		var withDefaults struct {
			Series []struct {
				Spec json.RawMessage `json:"spec"`
			} `json:"series"`
		}
		_ = json.Unmarshal(raw, &withDefaults)
		for i := range e.Series {
			spec := sim.Default()
			if err := strictUnmarshal(withDefaults.Series[i].Spec, &spec); err != nil {
				return nil, fmt.Errorf("%w: %s: series %q: %w", ErrConfig, path, e.Series[i].Name, err)
			}
			e.Series[i].Spec = spec
		}
		return &e, nil
	}
	spec := sim.Default()
	if err := strictUnmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	return &Experiment{Seeds: []uint64{spec.Seed}, Series: []Series{{Name: "run", Spec: spec}}}, nil
}

func strictUnmarshal(raw []byte, v any) error {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
