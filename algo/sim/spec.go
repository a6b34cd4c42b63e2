package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrSpec is wrapped by every Spec validation error.
var ErrSpec = errors.New("invalid run specification")

// Lambda is the clipping multiplier λ; +Inf means no clipping. In JSON it is a number or "none".
type Lambda float64

// NoClip disables clipping.
var NoClip = Lambda(math.Inf(1))

// ParseLambda accepts a positive number or "none"/"inf".
func ParseLambda(s string) (Lambda, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "inf", "off", "noclip":
		return NoClip, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) {
		return 0, fmt.Errorf("%w: lambda must be a positive number or \"none\", got %q", ErrSpec, s)
	}
	return Lambda(f), nil
}

func (l Lambda) String() string {
	if math.IsInf(float64(l), 1) {
		return "none"
	}
	return strconv.FormatFloat(float64(l), 'g', -1, 64)
}

// MarshalJSON writes "none" for +Inf.
func (l Lambda) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(l), 1) {
		return []byte(`"none"`), nil
	}
	return json.Marshal(float64(l))
}

// UnmarshalJSON reads a number or "none".
func (l *Lambda) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := ParseLambda(s)
		*l = v
		return err
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("%w: lambda: %w", ErrSpec, err)
	}
	*l = Lambda(f)
	return nil
}

// Spec describes one training run completely. The zero value is not valid; start from Default().
type Spec struct {
	Data string `json:"data"` // built-in name ("a9a") or a LIBSVM file path
	// TestData is the held-out set the reports score the model on: "" for the built-in test split of
	// a built-in data set (a9a → a9a.t) and none for any other, "none" for none, else a built-in name or
	// a LIBSVM path. It is read with the training set's feature count and row scaling, and plays no
	// part in training (a genesis without it hashes as before).
	TestData  string  `json:"test_data,omitempty"`
	Features  int     `json:"features"`  // 0: from the data
	Normalize bool    `json:"normalize"` // scale rows to unit L2 norm (the authors' code does)
	Split     string  `json:"split"`     // full | iid | label
	Model     string  `json:"model"`     // logreg | mlp
	Hidden    int     `json:"hidden"`    // hidden units of the MLP
	L2        float64 `json:"l2"`        // L2 penalty η: f_ij + (η/2)‖x‖²

	Members   int    `json:"n"`      // n, all members
	Byzantine int    `json:"byz"`    // B of them Byzantine (the last B member indices)
	Attack    string `json:"attack"` // see attack.Parse

	Variant       string  `json:"variant"`       // marina-pp | sgdm | sgdm-clip
	Aggregator    string  `json:"agg"`           // see agg.Parse
	Bucket        int     `json:"bucket"`        // bucket size s (≤ 1: no bucketing)
	AggByzantine  int     `json:"agg_byz"`       // f given to TM/Krum; -1: use byz
	Compressor    string  `json:"compress"`      // see compress.Parse
	P             float64 `json:"p"`             // probability of a full round (when schedule is 0)
	Schedule      int     `json:"schedule"`      // > 0: one full round every schedule rounds (the authors' code)
	Participation float64 `json:"participation"` // fraction of members sampled in a partial round: C = ⌈participation·n⌉
	LR            float64 `json:"lr"`            // γ
	Lambda        Lambda  `json:"lambda"`        // λ, or "none"
	Batch         int     `json:"batch"`         // b
	Momentum      float64 `json:"momentum"`      // β of the sgdm variants

	Rounds    int    `json:"rounds"`
	Seed      uint64 `json:"seed"`
	EvalEvery int    `json:"eval_every"` // record loss every this many rounds
}

// Default returns the paper's Figure 1 setting (a9a, 15 honest + 5 Byzantine members each holding all
// the data, Shift-Back, coordinate-wise median with buckets of 2, 20% sampled, b = 32, γ = 0.1, λ = 1,
// 10,000 rounds) with Algorithm 1's coin: a full round with probability p = 0.001 (≈ min{C/n, b/m}).
// The presets replace the coin by the authors' code's schedule of one full round every 1000 rounds.
func Default() Spec {
	return Spec{
		Data: "a9a", Normalize: true, Split: "full", Model: "logreg", Hidden: 16, L2: 0.01,
		Members: 20, Byzantine: 5, Attack: "shb",
		Variant: "marina-pp", Aggregator: "cm", Bucket: 2, AggByzantine: -1, Compressor: "none",
		P: 0.001, Schedule: 0, Participation: 0.2, LR: 0.1, Lambda: 1, Batch: 32, Momentum: 0.9,
		Rounds: 10000, Seed: 1, EvalEvery: 25,
	}
}

// Sampled returns C = ⌈participation·n⌉, at least 1 and at most n.
func (s *Spec) Sampled() int {
	c := int(math.Ceil(s.Participation*float64(s.Members) - 1e-9))
	return max(1, min(c, s.Members))
}

// Validate checks the fields that do not need the data.
func (s *Spec) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrSpec, fmt.Sprintf(format, args...))
	}
	switch {
	case s.Data == "":
		return bad("no data set")
	case s.Members < 1:
		return bad("n must be at least 1, got %d", s.Members)
	case s.Byzantine < 0 || s.Byzantine >= s.Members:
		return bad("byz must be in [0, n), got %d with n = %d", s.Byzantine, s.Members)
	case !(s.Participation > 0 && s.Participation <= 1):
		return bad("participation must be in (0, 1], got %v", s.Participation)
	case s.Rounds < 1:
		return bad("rounds must be at least 1, got %d", s.Rounds)
	case s.EvalEvery < 1:
		return bad("eval_every must be at least 1, got %d", s.EvalEvery)
	case s.Hidden < 1 && s.Model == "mlp":
		return bad("hidden must be at least 1 for the MLP, got %d", s.Hidden)
	case !(s.L2 >= 0):
		return bad("l2 must be ≥ 0, got %v", s.L2)
	case s.Bucket < 0:
		return bad("bucket must be ≥ 0, got %d", s.Bucket)
	}
	return nil
}
