package consensus

import (
	"errors"
	"testing"
)

// TestRetractWithdrawsDecision: a decision counted with a precommit the application then finds
// invalid is withdrawn; the machine goes on with the height (its precommit timeout moves it to the
// next attempt) and decides once a quorum of valid precommits is there.
func TestRetractWithdrawsDecision(t *testing.T) {
	m, _ := started(t, testConfig(3, 4), 0)
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	drain(m)
	mustStep(t, m, pc(0, 0, val(1), 0), pc(0, 0, val(1), 1), pc(0, 0, val(1), 2))
	rd := drain(m)
	if len(rd.Decisions) != 1 {
		t.Fatalf("decisions %+v, want one", rd.Decisions)
	}
	if err := m.Retract(pc(0, 0, val(1), 2)); err != nil {
		t.Fatal(err)
	}
	if m.Status().Decided {
		t.Fatal("still decided without member 2's precommit")
	}
	if err := m.Retract(pc(0, 0, val(1), 2)); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("retracting again: %v, want ErrNotHeld", err)
	}
	// A quorum of prevotes makes this member precommit too: a quorum of valid precommits again.
	mustStep(t, m, pv(0, 0, val(1), 0), pv(0, 0, val(1), 1), pv(0, 0, val(1), 2))
	if rd := drain(m); len(rd.Decisions) != 1 || rd.Decisions[0].Value != val(1) {
		t.Fatalf("decisions %+v after a valid precommit", rd.Decisions)
	}
}

// TestRetractKeepsGoing: with no valid quorum in sight, the withdrawn height moves on by timeout to
// the next attempt instead of standing still.
func TestRetractKeepsGoing(t *testing.T) {
	m, _ := started(t, testConfig(3, 4), 0)
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	drain(m)
	mustStep(t, m, pc(0, 0, val(1), 0), pc(0, 0, val(1), 1), pc(0, 0, val(1), 2))
	drain(m)
	// While decided, time passes: timeouts due then are ignored.
	for range 50 {
		m.Tick()
	}
	if err := m.Retract(pc(0, 0, val(1), 2)); err != nil {
		t.Fatal(err)
	}
	// The prevote timeout, scheduled again, makes it precommit nil; with those of 0 and 1 that is
	// 2f+1 precommits of any kind, and the precommit timeout moves it on.
	for range 50 {
		m.Tick()
	}
	if r := m.Status().Round; r == 0 {
		t.Fatal("still at attempt 0 long after the decision was withdrawn")
	}
}

func TestRetractBufferedAndUnknown(t *testing.T) {
	m, _ := started(t, testConfig(3, 4), 0)
	future := pv(1, 0, val(2), 1)
	if err := m.StepVote(future); err != nil {
		t.Fatal(err)
	}
	if err := m.Retract(future); err != nil {
		t.Fatalf("retracting a buffered vote: %v", err)
	}
	if err := m.Retract(future); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("again: %v", err)
	}
	if err := m.Retract(pv(0, 7, val(2), 1)); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("unknown vote: %v", err)
	}
}
