package consensus

import (
	"errors"
	"testing"
)

// restart builds a machine from a saved state (as after a crash) and drains its start-up output.
func restart(t *testing.T, cfg Config, ps *PersistentState) (*Machine, Ready) {
	t.Helper()
	if ps == nil {
		t.Fatal("nothing persisted")
	}
	m, err := New(cfg, ps)
	if err != nil {
		t.Fatal(err)
	}
	return m, drain(m)
}

func TestRestartNeverDoubleVotes(t *testing.T) {
	cfg := testConfig(3, 4)
	m, rd := started(t, cfg, 0)
	last := rd.Persist
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	rd = drain(m)
	wantVotes(t, rd, pv(0, 0, val(1), 3))
	if rd.Persist != nil {
		last = rd.Persist
	}
	before := m.Status()

	// Crash: the prevote may or may not have left. Restart from what was saved.
	m2, rd2 := restart(t, cfg, last)
	after := m2.Status()
	if after.Height != before.Height || after.Round != before.Round || after.Step != before.Step {
		t.Fatalf("restored status %+v, was %+v", after, before)
	}
	if len(rd2.Messages) != 1 || !rd2.Messages[0].Rebroadcast || rd2.Messages[0].Vote != pv(0, 0, val(1), 3) {
		t.Fatalf("restart re-emitted %+v, want our prevote", rd2.Messages)
	}
	// The restarted member sees a different proposal (a lying leader), then times out: neither makes it
	// prevote again in round 0.
	if err := m2.StepProposal(prop(0, 0, -1, val(2), 0), true); err != nil {
		t.Fatal(err)
	}
	ticks(m2, int(cfg.Propose.Base+1))
	wantVotes(t, drain(m2))
	// It still precommits (a different type) when the prevotes arrive.
	mustStep(t, m2, pv(0, 0, val(2), 0), pv(0, 0, val(2), 1), pv(0, 0, val(2), 2))
	wantVotes(t, drain(m2), pc(0, 0, val(2), 3))
}

func TestRestartKeepsLock(t *testing.T) {
	cfg := testConfig(3, 4)
	m, _ := started(t, cfg, 0)
	lockInRound0(t, m, val(1))
	ps := m.Ready().Persist
	m2, _ := restart(t, cfg, ps)
	if s := m2.Status(); s.LockedRound != 0 || s.LockedValue != val(1) || s.Round != 1 {
		t.Fatalf("restored %+v", s)
	}
	mustPropose(t, m2, prop(0, 1, -1, val(2), 1), true)
	wantVotes(t, drain(m2), pv(0, 1, nilV, 3)) // still locked on val(1)
}

func TestRestartAsLeader(t *testing.T) {
	cfg := testConfig(0, 4)
	_, rd := started(t, cfg, 0)
	m2, rd2 := restart(t, cfg, rd.Persist)
	if rd2.NeedValue == nil || *rd2.NeedValue != (NeedValue{0, 0}) {
		t.Fatalf("restarted leader did not ask for a value: %+v", rd2)
	}
	if err := m2.Propose(0, 0, val(4)); err != nil {
		t.Fatal(err)
	}
	rd3 := drain(m2)
	if len(proposalsOf(rd3)) != 1 || rd3.Persist == nil || len(rd3.Persist.OwnProposals) != 1 {
		t.Fatalf("after Propose: %+v", rd3)
	}
	// Restarting again must not propose a second time, even when asked.
	m3, rd4 := restart(t, cfg, rd3.Persist)
	if rd4.NeedValue != nil || len(proposalsOf(rd4)) != 0 {
		t.Fatalf("second restart proposed again: %+v", rd4)
	}
	wantErr(t, m3.Propose(0, 0, val(5)), ErrNotRequested)
}

func TestRestartAfterDecision(t *testing.T) {
	cfg := testConfig(3, 4)
	m, _ := started(t, cfg, 0)
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	mustStep(t, m, pv(0, 0, val(1), 0), pv(0, 0, val(1), 1), pc(0, 0, val(1), 0), pc(0, 0, val(1), 1))
	rd := drain(m)
	if len(rd.Decisions) != 1 || rd.Persist == nil || rd.Persist.Decision == nil {
		t.Fatalf("no persisted decision: %+v", rd)
	}
	m2, rd2 := restart(t, cfg, rd.Persist)
	if len(rd2.Decisions) != 1 || rd2.Decisions[0].Value != val(1) || !m2.Status().Decided {
		t.Fatalf("restart did not re-emit the decision: %+v", rd2)
	}
	if err := m2.StartHeight(1); err != nil {
		t.Fatal(err)
	}
	if s := m2.Status(); s.Height != 1 || s.Decided {
		t.Fatalf("status %+v", s)
	}
}

func TestRestoreRejectsInconsistentState(t *testing.T) {
	good := PersistentState{Height: 5, Round: 2, Step: StepPrecommit, LockedValue: val(1), LockedRound: 1,
		ValidValue: val(1), ValidRound: 2,
		LastSigned:   []Vote{pv(5, 1, val(1), 3), pc(5, 1, val(1), 3), pv(5, 2, val(1), 3), pc(5, 2, nilV, 3)},
		OwnProposals: []Proposal{prop(5, 2, 1, val(1), 3)},
	}
	cfg := testConfig(3, 4)
	if _, err := New(cfg, &good); err != nil {
		t.Fatalf("good state rejected: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*PersistentState)
	}{
		{"round too large", func(s *PersistentState) { s.Round = maxRound + 1 }},
		{"unknown step", func(s *PersistentState) { s.Step = 7 }},
		{"locked round after round", func(s *PersistentState) { s.LockedRound = 3 }},
		{"locked round without value", func(s *PersistentState) { s.LockedValue = nilV }},
		{"locked value without round", func(s *PersistentState) { s.LockedRound = -1 }},
		{"valid round below locked", func(s *PersistentState) { s.ValidRound, s.LockedRound = 0, 1 }},
		{"valid round below -1", func(s *PersistentState) { s.ValidRound = -2 }},
		{"valid round = round at step propose", func(s *PersistentState) { s.Step, s.LastSigned = StepPropose, s.LastSigned[:2] }},
		{"locked round = round before precommit", func(s *PersistentState) {
			s.LockedRound, s.Step, s.LastSigned = 2, StepPrevote, s.LastSigned[:3]
		}},
		{"vote of another height", func(s *PersistentState) { s.LastSigned[0].Height = 4 }},
		{"vote of another member", func(s *PersistentState) { s.LastSigned[0].Voter = 2 }},
		{"vote after round", func(s *PersistentState) { s.LastSigned[0].Round = 3 }},
		{"vote of no type", func(s *PersistentState) { s.LastSigned[0].Type = 0 }},
		{"two prevotes in a round", func(s *PersistentState) { s.LastSigned[2].Round = 1 }},
		{"prevote signed but step propose", func(s *PersistentState) { s.Step = StepPropose }},
		{"precommit signed but step prevote", func(s *PersistentState) { s.Step = StepPrevote }},
		{"precommit for a value above the lock", func(s *PersistentState) { s.LastSigned[3].Value = val(2) }},
		{"proposal of another member", func(s *PersistentState) { s.OwnProposals[0].Proposer = 1 }},
		{"two proposals in a round", func(s *PersistentState) { s.OwnProposals = append(s.OwnProposals, s.OwnProposals[0]) }},
		{"proposal of nil", func(s *PersistentState) { s.OwnProposals[0].Value = nilV }},
		{"decision without certificate", func(s *PersistentState) { s.Decision = &Decision{Height: 5, Value: val(1)} }},
		{"decision of another height", func(s *PersistentState) {
			s.Decision = &Decision{Height: 4, Round: 1, Value: val(1), Certificate: []Vote{pc(4, 1, val(1), 0), pc(4, 1, val(1), 1), pc(4, 1, val(1), 3)}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			s.LastSigned = append([]Vote(nil), good.LastSigned...)
			s.OwnProposals = append([]Proposal(nil), good.OwnProposals...)
			tt.mutate(&s)
			if _, err := New(cfg, &s); !errors.Is(err, ErrBadPersistence) {
				t.Fatalf("New = %v, want ErrBadPersistence", err)
			}
		})
	}
}

func TestCheckCertificate(t *testing.T) {
	d := Decision{Height: 2, Round: 1, Value: val(1)}
	ok := []Vote{pc(2, 1, val(1), 0), pc(2, 1, val(1), 1), pc(2, 1, val(1), 2)}
	tests := []struct {
		name  string
		votes []Vote
		ok    bool
	}{
		{"quorum", ok, true},
		{"too few", ok[:2], false},
		{"duplicate voter", []Vote{ok[0], ok[1], ok[1]}, false},
		{"prevote", []Vote{ok[0], ok[1], pv(2, 1, val(1), 2)}, false},
		{"other value", []Vote{ok[0], ok[1], pc(2, 1, val(2), 2)}, false},
		{"other round", []Vote{ok[0], ok[1], pc(2, 0, val(1), 2)}, false},
		{"other height", []Vote{ok[0], ok[1], pc(1, 1, val(1), 2)}, false},
		{"voter out of range", []Vote{ok[0], ok[1], pc(2, 1, val(1), 4)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dd := d
			dd.Certificate = tt.votes
			if err := CheckCertificate(dd, 4); (err == nil) != tt.ok {
				t.Fatalf("CheckCertificate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	nilDecision := Decision{Height: 2, Round: 1, Certificate: []Vote{pc(2, 1, nilV, 0), pc(2, 1, nilV, 1), pc(2, 1, nilV, 2)}}
	if CheckCertificate(nilDecision, 4) == nil {
		t.Fatal("certificate for nil accepted")
	}
}
