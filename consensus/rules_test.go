package consensus

import (
	"slices"
	"testing"
)

// N = 4 throughout: quorum 3, f+1 = 2, leader of (h, r) is (h+r) mod 4. Member 3 is "us" unless a test
// needs to lead.

func TestLeaderHappyPath(t *testing.T) {
	m, rd := started(t, testConfig(0, 4), 0)
	if rd.NeedValue == nil || *rd.NeedValue != (NeedValue{0, 0}) {
		t.Fatalf("NeedValue = %v, want {0 0}", rd.NeedValue)
	}
	if len(rd.Messages) != 0 {
		t.Fatalf("messages before a value: %+v", rd.Messages)
	}
	if err := m.Propose(0, 0, val(1)); err != nil {
		t.Fatal(err)
	}
	rd = drain(m)
	if got := proposalsOf(rd); len(got) != 1 || got[0] != prop(0, 0, -1, val(1), 0) {
		t.Fatalf("proposal = %+v", got)
	}
	wantVotes(t, rd, pv(0, 0, val(1), 0)) // line 22 on our own proposal
	if rd.Persist == nil || len(rd.Persist.OwnProposals) != 1 || len(rd.Persist.LastSigned) != 1 {
		t.Fatalf("Persist = %+v, want our proposal and prevote", rd.Persist)
	}
	mustStep(t, m, pv(0, 0, val(1), 1), pv(0, 0, val(1), 2))
	rd = drain(m)
	wantVotes(t, rd, pc(0, 0, val(1), 0)) // line 36
	if s := m.Status(); s.LockedRound != 0 || s.LockedValue != val(1) || s.ValidRound != 0 || s.Step != StepPrecommit {
		t.Fatalf("status after lock = %+v", s)
	}
	mustStep(t, m, pc(0, 0, val(1), 2), pc(0, 0, val(1), 3))
	rd = drain(m)
	if len(rd.Decisions) != 1 {
		t.Fatalf("decisions = %+v", rd.Decisions)
	}
	d := rd.Decisions[0]
	if d.Height != 0 || d.Round != 0 || d.Value != val(1) || len(d.Certificate) != 3 {
		t.Fatalf("decision = %+v", d)
	}
	if err := CheckCertificate(d, 4); err != nil {
		t.Fatal(err)
	}
	if rd.Persist == nil || rd.Persist.Decision == nil {
		t.Fatal("decision not persisted")
	}
	// Decided: timeouts no longer move the attempt, until StartHeight.
	ticks(m, 100)
	if s := m.Status(); s.Round != 0 || !s.Decided {
		t.Fatalf("status after decision = %+v", s)
	}
	if err := m.StartHeight(1); err != nil {
		t.Fatal(err)
	}
	if s := m.Status(); s.Height != 1 || s.Round != 0 || s.LockedRound != -1 || s.ValidRound != -1 || s.Decided {
		t.Fatalf("status at new height = %+v", s)
	}
}

func TestPrevoteOnProposal(t *testing.T) {
	tests := []struct {
		name   string
		lock   bool // lock val(1) in round 0 first, then test in round 1
		p      Proposal
		valid  bool
		want   ValueID
		noVote bool
	}{
		{name: "valid fresh proposal", p: prop(0, 0, -1, val(1), 0), valid: true, want: val(1)},
		{name: "invalid proposal", p: prop(0, 0, -1, val(1), 0), valid: false, want: nilV},
		{name: "locked, other value", lock: true, p: prop(0, 1, -1, val(2), 1), valid: true, want: nilV},
		{name: "locked, same value", lock: true, p: prop(0, 1, -1, val(1), 1), valid: true, want: val(1)},
		{name: "locked, same value but invalid", lock: true, p: prop(0, 1, -1, val(1), 1), valid: false, want: nilV},
		{name: "POL round without its prevotes waits", lock: true, p: prop(0, 1, 0, val(2), 1), valid: true, noVote: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := started(t, testConfig(3, 4), 0)
			if tt.lock {
				lockInRound0(t, m, val(1))
			}
			drain(m)
			mustPropose(t, m, tt.p, tt.valid)
			rd := drain(m)
			if tt.noVote {
				wantVotes(t, rd)
				return
			}
			wantVotes(t, rd, pv(0, tt.p.Round, tt.want, 3))
			if m.Status().Step != StepPrevote {
				t.Fatalf("step = %s", m.Status().Step)
			}
		})
	}
}

// lockInRound0 makes member 3 lock on v in round 0 and move to round 1 through timeoutPrecommit.
func lockInRound0(t *testing.T, m *Machine, v ValueID) {
	t.Helper()
	mustPropose(t, m, prop(0, 0, -1, v, 0), true)
	mustStep(t, m, pv(0, 0, v, 0), pv(0, 0, v, 1))
	mustStep(t, m, pc(0, 0, nilV, 0), pc(0, 0, nilV, 1))
	drain(m)
	if s := m.Status(); s.LockedRound != 0 || s.LockedValue != v {
		t.Fatalf("not locked: %+v", s)
	}
	ticks(m, int(m.cfg.Precommit.Base)) // line 47 then 65
	if s := m.Status(); s.Round != 1 {
		t.Fatalf("round = %d, want 1", s.Round)
	}
}

func TestPOLRule(t *testing.T) {
	t.Run("re-proposal of our locked value with its POL", func(t *testing.T) {
		m, _ := started(t, testConfig(3, 4), 0)
		lockInRound0(t, m, val(1)) // round-0 prevotes for val(1): 0, 1 and ours
		mustPropose(t, m, prop(0, 1, 0, val(1), 1), true)
		wantVotes(t, drain(m), pv(0, 1, val(1), 3))
	})
	t.Run("POL older than our lock, other value: nil", func(t *testing.T) {
		m, _ := started(t, testConfig(3, 4), 0)
		ticks(m, int(m.cfg.Propose.Base)) // prevote nil in round 0
		mustStep(t, m, pv(0, 0, val(2), 0), pv(0, 0, val(2), 1), pv(0, 0, val(2), 2))
		// Round 1 (leader 1): we prevote and lock val(1).
		mustPropose(t, m, prop(0, 1, -1, val(1), 1), true)
		mustStep(t, m, pv(0, 1, val(1), 0))
		mustStep(t, m, pv(0, 1, val(1), 1))
		drain(m)
		if s := m.Status(); s.Round != 1 || s.LockedRound != 1 || s.LockedValue != val(1) {
			t.Fatalf("status = %+v, want locked val(1) in round 1", s)
		}
		mustStep(t, m, pc(0, 2, nilV, 0), pc(0, 2, nilV, 1)) // skip to round 2
		mustPropose(t, m, prop(0, 2, 0, val(2), 2), true)    // POL at 0 < lockedRound 1
		wantVotes(t, drain(m), pv(0, 2, nilV, 3))
	})
	t.Run("POL not older than our lock: unlock", func(t *testing.T) {
		m, _ := started(t, testConfig(3, 4), 0)
		lockInRound0(t, m, val(1))
		// Round 1: the others prevote val(2), but we never see that proposal, so we stay locked.
		ticks(m, int(m.cfg.Propose.Base+m.cfg.Propose.Delta))
		wantVotes(t, drain(m), pv(0, 1, nilV, 3))
		mustStep(t, m, pv(0, 1, val(2), 0), pv(0, 1, val(2), 1), pv(0, 1, val(2), 2))
		mustStep(t, m, pc(0, 2, nilV, 0), pc(0, 2, nilV, 1)) // skip to round 2
		if s := m.Status(); s.Round != 2 || s.LockedRound != 0 {
			t.Fatalf("status %+v", s)
		}
		mustPropose(t, m, prop(0, 2, 1, val(2), 2), true)
		wantVotes(t, drain(m), pv(0, 2, val(2), 3))
	})
	t.Run("POL for an invalid value: nil", func(t *testing.T) {
		m, _ := started(t, testConfig(3, 4), 0)
		mustStep(t, m, pv(0, 0, val(2), 0), pv(0, 0, val(2), 1), pv(0, 0, val(2), 2))
		mustStep(t, m, pc(0, 1, nilV, 0), pc(0, 1, nilV, 2)) // skip to round 1
		drain(m)
		mustPropose(t, m, prop(0, 1, 0, val(2), 1), false)
		wantVotes(t, drain(m), pv(0, 1, nilV, 3))
	})
	t.Run("POL prevotes arriving late enable line 28", func(t *testing.T) {
		m, _ := started(t, testConfig(3, 4), 0)
		mustStep(t, m, pc(0, 1, nilV, 0), pc(0, 1, nilV, 2)) // skip to round 1
		mustPropose(t, m, prop(0, 1, 0, val(5), 1), true)
		wantVotes(t, drain(m))
		mustStep(t, m, pv(0, 0, val(5), 0), pv(0, 0, val(5), 1))
		wantVotes(t, drain(m))
		mustStep(t, m, pv(0, 0, val(5), 2))
		wantVotes(t, drain(m), pv(0, 1, val(5), 3))
	})
}

func TestLeaderReproposesValidValue(t *testing.T) {
	// Member 1 leads round 1. In round 0 it sees the proposal and 2f+1 prevotes for val(7) only after
	// precommitting nil, so val(7) becomes its validValue without a lock (lines 42–43).
	m, _ := started(t, testConfig(1, 4), 0)
	ticks(m, int(m.cfg.Propose.Base))
	mustStep(t, m, pv(0, 0, val(7), 0), pv(0, 0, val(7), 2))
	ticks(m, int(m.cfg.Prevote.Base))
	wantVotes(t, drain(m), pv(0, 0, nilV, 1), pc(0, 0, nilV, 1))
	mustStep(t, m, pv(0, 0, val(7), 3))
	mustPropose(t, m, prop(0, 0, -1, val(7), 0), true) // proposal arrives last
	wantVotes(t, drain(m))
	if s := m.Status(); s.ValidRound != 0 || s.ValidValue != val(7) || s.LockedRound != -1 {
		t.Fatalf("status = %+v, want valid (not locked) val(7) at 0", s)
	}
	mustStep(t, m, pc(0, 0, nilV, 0), pc(0, 0, nilV, 2))
	ticks(m, int(m.cfg.Precommit.Base))
	rd := drain(m)
	if rd.NeedValue != nil {
		t.Fatal("leader with a validValue asked for a value")
	}
	if got := proposalsOf(rd); len(got) != 1 || got[0] != prop(0, 1, 0, val(7), 1) {
		t.Fatalf("proposal = %+v, want val(7) with POLRound 0", got)
	}
	// Line 28 on its own proposal: POL holds, not locked, so it prevotes val(7).
	wantVotes(t, rd, pv(0, 1, val(7), 1))
}

func TestTimeouts(t *testing.T) {
	t.Run("propose fires after Base ticks, not before", func(t *testing.T) {
		m, _ := started(t, testConfig(3, 4), 0)
		ticks(m, int(m.cfg.Propose.Base)-1)
		wantVotes(t, drain(m))
		m.Tick()
		wantVotes(t, drain(m), pv(0, 0, nilV, 3))
	})
	t.Run("timeouts grow with the attempt and reset per height", func(t *testing.T) {
		m, _ := started(t, testConfig(3, 4), 0)
		for r := uint32(1); r <= 3; r++ {
			mustStep(t, m, pc(0, r, nilV, 0), pc(0, r, nilV, 1)) // f+1 in round r: skip (line 55)
			if m.Status().Round != r {
				t.Fatalf("round = %d, want %d", m.Status().Round, r)
			}
			drain(m)
			want := int(m.cfg.Propose.Base + r*m.cfg.Propose.Delta)
			ticks(m, want-1)
			if m.Status().Step != StepPropose {
				t.Fatalf("round %d: timed out before %d ticks", r, want)
			}
			m.Tick()
			if m.Status().Step != StepPrevote {
				t.Fatalf("round %d: no timeout after %d ticks", r, want)
			}
		}
		if err := m.StartHeight(1); err != nil {
			t.Fatal(err)
		}
		drain(m)
		ticks(m, int(m.cfg.Propose.Base)-1)
		if m.Status().Step != StepPropose {
			t.Fatal("timeoutPropose did not restart from Base at the new height")
		}
		m.Tick()
		if m.Status().Step != StepPrevote {
			t.Fatal("no timeoutPropose at the new height")
		}
	})
	t.Run("prevote timeout on 2f+1 mixed prevotes (line 34)", func(t *testing.T) {
		m, _ := started(t, testConfig(3, 4), 0)
		mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
		mustStep(t, m, pv(0, 0, val(2), 1), pv(0, 0, nilV, 2))
		rd := drain(m)
		wantVotes(t, rd, pv(0, 0, val(1), 3))
		ticks(m, int(m.cfg.Prevote.Base)-1)
		wantVotes(t, drain(m))
		m.Tick()
		wantVotes(t, drain(m), pc(0, 0, nilV, 3))
	})
	t.Run("2f+1 nil prevotes precommit nil at once (line 44)", func(t *testing.T) {
		m, _ := started(t, testConfig(3, 4), 0)
		ticks(m, int(m.cfg.Propose.Base))
		mustStep(t, m, pv(0, 0, nilV, 1), pv(0, 0, nilV, 2))
		wantVotes(t, drain(m), pv(0, 0, nilV, 3), pc(0, 0, nilV, 3))
	})
	t.Run("precommit timeout on 2f+1 mixed precommits (line 47)", func(t *testing.T) {
		m, _ := started(t, testConfig(3, 4), 0)
		mustStep(t, m, pc(0, 0, val(1), 0), pc(0, 0, nilV, 1), pc(0, 0, val(2), 2))
		ticks(m, int(m.cfg.Precommit.Base)-1)
		if m.Status().Round != 0 {
			t.Fatal("moved before timeoutPrecommit")
		}
		m.Tick()
		if m.Status().Round != 1 {
			t.Fatalf("round = %d, want 1", m.Status().Round)
		}
	})
}

func TestRoundSkip(t *testing.T) {
	tests := []struct {
		name string
		msgs []Vote
		want uint32
	}{
		{"f messages do not move us", []Vote{pv(0, 5, nilV, 0)}, 0},
		{"f+1 messages of different types move us", []Vote{pv(0, 5, nilV, 0), pc(0, 5, val(1), 1)}, 5},
		{"f+1 messages of different later rounds do not", []Vote{pv(0, 5, nilV, 0), pv(0, 6, nilV, 1)}, 0},
		{"one member twice does not", []Vote{pv(0, 5, nilV, 0), pc(0, 5, nilV, 0)}, 0},
		{"messages of the current round do not", []Vote{pv(0, 0, nilV, 0), pv(0, 0, nilV, 1)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := started(t, testConfig(3, 4), 0)
			mustStep(t, m, tt.msgs...)
			if got := m.Status().Round; got != tt.want {
				t.Fatalf("round = %d, want %d", got, tt.want)
			}
		})
	}
	t.Run("a proposal counts as a message of its round", func(t *testing.T) {
		m, _ := started(t, testConfig(3, 4), 0)
		mustPropose(t, m, prop(0, 2, -1, val(1), 2), true)
		mustStep(t, m, pv(0, 2, val(1), 0))
		drain(m)
		if s := m.Status(); s.Round != 2 || s.Step != StepPrevote {
			t.Fatalf("status = %+v, want prevoted in round 2", s)
		}
	})
}

func TestDecideOnAnyRound(t *testing.T) {
	m, _ := started(t, testConfig(3, 4), 0)
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	drain(m)
	for r := uint32(1); r <= 2; r++ {
		mustStep(t, m, pv(0, r, nilV, 0), pv(0, r, nilV, 1))
	}
	if m.Status().Round != 2 {
		t.Fatalf("round = %d", m.Status().Round)
	}
	mustStep(t, m, pc(0, 0, val(1), 0), pc(0, 0, val(1), 1))
	if rd := drain(m); len(rd.Decisions) != 0 {
		t.Fatal("decided on 2 precommits")
	}
	mustStep(t, m, pc(0, 0, val(1), 2))
	rd := drain(m)
	if len(rd.Decisions) != 1 || rd.Decisions[0].Round != 0 || rd.Decisions[0].Value != val(1) {
		t.Fatalf("decisions = %+v, want val(1) in round 0", rd.Decisions)
	}
}

func TestNoDecisionOnInvalidValue(t *testing.T) {
	m, _ := started(t, testConfig(3, 4), 0)
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), false)
	mustStep(t, m, pc(0, 0, val(1), 0), pc(0, 0, val(1), 1), pc(0, 0, val(1), 2))
	if rd := drain(m); len(rd.Decisions) != 0 {
		t.Fatal("decided an invalid value")
	}
	// Revalidation (valid=false, then true) lets line 49 fire.
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	if rd := drain(m); len(rd.Decisions) != 1 {
		t.Fatal("no decision after the value became valid")
	}
}

func TestNoDecisionWithoutProposal(t *testing.T) {
	m, _ := started(t, testConfig(3, 4), 0)
	mustStep(t, m, pc(0, 0, val(1), 0), pc(0, 0, val(1), 1), pc(0, 0, val(1), 2))
	if rd := drain(m); len(rd.Decisions) != 0 {
		t.Fatal("decided without the proposal")
	}
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	if rd := drain(m); len(rd.Decisions) != 1 {
		t.Fatal("no decision once the proposal arrived")
	}
}

func TestSingleMember(t *testing.T) {
	m, rd := started(t, testConfig(0, 1), 0)
	if rd.NeedValue == nil {
		t.Fatal("no NeedValue")
	}
	if err := m.Propose(0, 0, val(9)); err != nil {
		t.Fatal(err)
	}
	rd = drain(m)
	if len(rd.Decisions) != 1 || rd.Decisions[0].Value != val(9) {
		t.Fatalf("decisions = %+v", rd.Decisions)
	}
	if got := votesOf(rd); !slices.Equal(got, []Vote{pv(0, 0, val(9), 0), pc(0, 0, val(9), 0)}) {
		t.Fatalf("votes = %+v", got)
	}
}

func TestProposeErrors(t *testing.T) {
	m, err := New(testConfig(0, 4), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.Propose(0, 0, val(1)), ErrNotStarted)
	if err := m.StartHeight(0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.Propose(0, 0, nilV), ErrBadMessage)
	wantErr(t, m.Propose(0, 1, val(1)), ErrNotRequested)
	wantErr(t, m.Propose(1, 0, val(1)), ErrNotRequested)
	if err := m.Propose(0, 0, val(1)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.Propose(0, 0, val(2)), ErrNotRequested)
	// A member that does not lead is never asked.
	m3, rd := started(t, testConfig(3, 4), 0)
	if rd.NeedValue != nil {
		t.Fatal("non-leader asked for a value")
	}
	wantErr(t, m3.Propose(0, 0, val(1)), ErrNotRequested)
}

func TestLeaderWithoutValueTimesOut(t *testing.T) {
	m, rd := started(t, testConfig(0, 4), 0)
	if rd.NeedValue == nil {
		t.Fatal("no NeedValue")
	}
	ticks(m, int(m.cfg.Propose.Base))
	wantVotes(t, drain(m), pv(0, 0, nilV, 0))
	wantErr(t, m.Propose(0, 0, val(1)), ErrNotRequested)
}
