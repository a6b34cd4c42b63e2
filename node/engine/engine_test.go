package engine

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
)

func setup(t *testing.T) *sim.Setup {
	t.Helper()
	s := sim.Default()
	s.Members, s.Byzantine, s.Participation, s.Schedule, s.Rounds = 6, 1, 0.5, 5, 20
	st, err := sim.Build(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func stored(round uint64, m method.Message) *Stored {
	d := sha256.Sum256(fmt.Appendf(nil, "%d/%d/%v/%v", round, m.Member, m.Vec.Values, m.Vec.Index))
	return &Stored{Digest: d, Msg: m}
}

// feed gives e every message sim.Runner would send in e's current round, and returns them.
func feed(t *testing.T, e *Engine, r *sim.Runner) []*Stored {
	t.Helper()
	var out []*Stored
	for _, m := range r.RoundMessages(e.State()) {
		s := stored(e.Round(), m)
		s.State = e.State().Digest()
		if err := e.Add(e.Round(), s); err != nil {
			t.Fatalf("Add(member %d): %v", m.Member, err)
		}
		out = append(out, s)
	}
	return out
}

// TestTwoEnginesAgreeWithSim: a leader's engine proposes, a validator's engine holding the same signed
// inputs re-derives the same state, and both follow sim.Runner round after round.
func TestTwoEnginesAgreeWithSim(t *testing.T) {
	st := setup(t)
	runner := sim.NewRunner(st, math.NaN())
	leader := New(st, method.NewState(st.X0))
	validator := New(st, method.NewState(st.X0))
	ref := method.NewState(st.X0)
	for k := 0; k < 12; k++ {
		msgs := feed(t, leader, runner)
		for _, s := range msgs {
			if err := validator.Add(validator.Round(), s); err != nil {
				t.Fatal(err)
			}
		}
		if !leader.Complete() {
			t.Fatalf("round %d: leader holds every message but is not complete", k)
		}
		cand, err := leader.Propose()
		if err != nil {
			t.Fatal(err)
		}
		got, err := validator.Evaluate(cand.Round, cand.Included, cand.StateDigest)
		if err != nil {
			t.Fatalf("round %d: validator rejects an honest proposal: %v", k, err)
		}
		if got.ValueID() != cand.ValueID() {
			t.Fatalf("round %d: value ids differ", k)
		}
		next, _, err := method.Step(&st.Method, st.Spec.Seed, ref, runner.RoundMessages(ref))
		if err != nil {
			t.Fatal(err)
		}
		ref = next
		if cand.StateDigest != ref.Digest() {
			t.Fatalf("round %d: engine state differs from sim", k)
		}
		if err := leader.Commit(cand); err != nil {
			t.Fatal(err)
		}
		if err := validator.Commit(got); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEvaluateCatchesLiesAndGaps(t *testing.T) {
	st := setup(t)
	runner := sim.NewRunner(st, math.NaN())
	leader := New(st, method.NewState(st.X0))
	// Round 0 is full and every member holds the same data, so many subsets aggregate alike: judge
	// round 1, a partial round with distinct minibatch differences.
	feed(t, leader, runner)
	first, err := leader.Propose()
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Commit(first); err != nil {
		t.Fatal(err)
	}
	msgs := feed(t, leader, runner)
	cand, err := leader.Propose()
	if err != nil {
		t.Fatal(err)
	}
	validator := New(st, first.Next)
	if _, err := validator.Evaluate(cand.Round, cand.Included, cand.StateDigest); !errors.Is(err, ErrMissing) {
		t.Fatalf("validator without the messages: %v, want ErrMissing", err)
	}
	if got := validator.Missing(cand.Included); len(got) != len(msgs) {
		t.Fatalf("Missing lists %d digests, want %d", len(got), len(msgs))
	}
	for _, s := range msgs {
		if err := validator.Add(1, s); err != nil {
			t.Fatal(err)
		}
	}
	wrong := cand.StateDigest
	wrong[0] ^= 1
	if _, err := validator.Evaluate(cand.Round, cand.Included, wrong); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong state digest: %v, want ErrMismatch", err)
	}
	swapped := append([]Inclusion(nil), cand.Included...)
	swapped[0].Member, swapped[1].Member = swapped[1].Member, swapped[0].Member
	if _, err := validator.Evaluate(cand.Round, swapped, cand.StateDigest); !errors.Is(err, ErrBadProposal) {
		t.Errorf("digests attributed to the wrong members: %v, want ErrBadProposal", err)
	}
	dup := append(append([]Inclusion(nil), cand.Included...), cand.Included[len(cand.Included)-1])
	if _, err := validator.Evaluate(cand.Round, dup, cand.StateDigest); !errors.Is(err, ErrBadProposal) {
		t.Errorf("a message included twice: %v, want ErrBadProposal", err)
	}
	if _, err := validator.Evaluate(cand.Round+1, cand.Included, cand.StateDigest); !errors.Is(err, ErrWrongRound) {
		t.Errorf("proposal for another round: %v, want ErrWrongRound", err)
	}
	// A censoring leader's proposal (a subset) is well formed: judging censorship is node's job.
	if _, err := validator.Evaluate(cand.Round, cand.Included[:1], cand.StateDigest); !errors.Is(err, ErrMismatch) {
		t.Errorf("subset with the full set's digest: %v, want ErrMismatch", err)
	}
}

func TestAddRejects(t *testing.T) {
	st := setup(t)
	e := New(st, method.NewState(st.X0))
	plan := e.Plan(1)
	in, out := plan.Sample[0], -1
	for i := 0; i < st.Spec.Members; i++ {
		if !plan.Contains(i) {
			out = i
			break
		}
	}
	d := st.Model.Dim()
	good := make([]float64, d)
	nan := make([]float64, d)
	nan[3] = math.NaN()
	cases := []struct {
		name  string
		round uint64
		msg   method.Message
		want  error
	}{
		{"too far ahead", 5, method.Message{Member: in, Vec: compress.Dense(good)}, ErrWrongRound},
		{"unsampled", 1, method.Message{Member: out, Vec: compress.Dense(good)}, ErrNotSampled},
		{"wrong dimension", 1, method.Message{Member: in, Vec: compress.Dense(good[:d-1])}, compress.ErrDimension},
		{"nan", 1, method.Message{Member: in, Vec: compress.Dense(nan)}, compress.ErrNonFinite},
	}
	for _, c := range cases {
		if err := e.Add(c.round, stored(c.round, c.msg)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	first := stored(1, method.Message{Member: in, Vec: compress.Dense(good)})
	if err := e.Add(1, first); err != nil {
		t.Fatal(err)
	}
	if err := e.Add(1, first); !errors.Is(err, ErrDuplicate) {
		t.Errorf("same message twice: %v, want ErrDuplicate", err)
	}
	other := append([]float64(nil), good...)
	other[0] = 1
	if err := e.Add(1, stored(1, method.Message{Member: in, Vec: compress.Dense(other)})); !errors.Is(err, ErrEquivocation) {
		t.Errorf("second, different message: %v, want ErrEquivocation", err)
	}
	if got, _ := e.Lookup(first.Digest); got != first {
		t.Error("the first message must be kept after equivocation")
	}
}

func TestResetPrunesOldRounds(t *testing.T) {
	st := setup(t)
	runner := sim.NewRunner(st, math.NaN())
	e := New(st, method.NewState(st.X0))
	msgs := feed(t, e, runner)
	cand, err := e.Propose()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Commit(cand); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Lookup(msgs[0].Digest); ok {
		t.Error("a message of a committed round is still held")
	}
	if err := e.Commit(cand); !errors.Is(err, ErrWrongRound) {
		t.Errorf("committing the same round twice: %v", err)
	}
}

// TestMessagesAtAnotherState: a message of the current round computed at another state is refused; for
// the next round, a member's messages at two states are both kept until the decision shows which state
// counts (an honest speculation overtaken by a later decision), a third state or a second message at
// one state is equivocation.
func TestMessagesAtAnotherState(t *testing.T) {
	st := setup(t)
	runner := sim.NewRunner(st, math.NaN())
	e := New(st, method.NewState(st.X0))
	d := st.Model.Dim()
	vecOf := func(v float64) compress.Vector { x := make([]float64, d); x[0] = v; return compress.Dense(x) }
	member := e.Plan(0).Sample[0]
	wrong := stored(0, method.Message{Member: member, Vec: vecOf(1)})
	wrong.State = Digest{1}
	if err := e.Add(0, wrong); !errors.Is(err, ErrWrongState) {
		t.Fatalf("current round, another state: %v, want ErrWrongState", err)
	}
	feed(t, e, runner)
	cand, err := e.Propose()
	if err != nil {
		t.Fatal(err)
	}
	next := e.Plan(1).Sample[0]
	speculative := stored(1, method.Message{Member: next, Vec: vecOf(2)})
	speculative.State = Digest{2} // a value that will not be decided
	actual := stored(1, method.Message{Member: next, Vec: vecOf(3)})
	actual.State = cand.StateDigest
	for _, s := range []*Stored{speculative, actual} {
		if err := e.Add(1, s); err != nil {
			t.Fatalf("next round, state %x: %v", s.State[:1], err)
		}
	}
	third := stored(1, method.Message{Member: next, Vec: vecOf(4)})
	third.State = Digest{3}
	if err := e.Add(1, third); !errors.Is(err, ErrEquivocation) {
		t.Errorf("a third state: %v, want ErrEquivocation", err)
	}
	twin := stored(1, method.Message{Member: next, Vec: vecOf(5)})
	twin.State = Digest{2}
	if err := e.Add(1, twin); !errors.Is(err, ErrEquivocation) {
		t.Errorf("two messages at one state: %v, want ErrEquivocation", err)
	}
	if err := e.Commit(cand); err != nil {
		t.Fatal(err)
	}
	held := e.Held(1)
	if len(held) != 1 || held[0] != actual {
		t.Fatalf("after the decision the engine holds %d messages, want the one at the decided state", len(held))
	}
	if _, ok := e.Lookup(speculative.Digest); ok {
		t.Error("the overtaken speculative message is still held")
	}
}
