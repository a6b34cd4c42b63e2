package consensus

import (
	"errors"
	"slices"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	ok := testConfig(0, 4)
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"valid", func(*Config) {}, true},
		{"single member", func(c *Config) { c.N, c.Self = 1, 0 }, true},
		{"no members", func(c *Config) { c.N = 0 }, false},
		{"too many members", func(c *Config) { c.N = MaxMembers + 1 }, false},
		{"self negative", func(c *Config) { c.Self = -1 }, false},
		{"self too large", func(c *Config) { c.Self = 4 }, false},
		{"no proposer", func(c *Config) { c.Proposer = nil }, false},
		{"zero propose timeout", func(c *Config) { c.Propose.Base = 0 }, false},
		{"zero prevote timeout", func(c *Config) { c.Prevote.Base = 0 }, false},
		{"zero precommit timeout", func(c *Config) { c.Precommit.Base = 0 }, false},
		{"negative buffer", func(c *Config) { c.FutureBufferPerSender = -1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			if _, err := New(c, nil); (err == nil) != tt.ok {
				t.Fatalf("New() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestQuorumDefinitions checks the thresholds against their definitions for every small N: the quorum
// is the least count above 2N/3; two quorums share at least f+1 members (so a correct one); the N−f
// correct members alone form a quorum; f+1 is the least count that surely includes a correct member.
func TestQuorumDefinitions(t *testing.T) {
	for n := 1; n <= 100; n++ {
		f := (n - 1) / 3
		q := Quorum(n)
		if 3*q <= 2*n || 3*(q-1) > 2*n {
			t.Errorf("N=%d: Quorum = %d is not the least count above 2N/3", n, q)
		}
		if 2*q-n < f+1 {
			t.Errorf("N=%d: two quorums of %d may share only %d members, f = %d", n, q, 2*q-n, f)
		}
		if q > n-f {
			t.Errorf("N=%d: quorum %d exceeds the %d correct members", n, q, n-f)
		}
		if w := WeakQuorum(n); w != f+1 {
			t.Errorf("N=%d: WeakQuorum = %d, want %d", n, w, f+1)
		}
	}
}

func TestMalformedMessages(t *testing.T) {
	m, _ := started(t, testConfig(3, 4), 0)
	badProposals := []struct {
		name string
		p    Proposal
		want error
	}{
		{"proposer out of range", prop(0, 0, -1, val(1), 4), ErrBadMessage},
		{"negative proposer", prop(0, 0, -1, val(1), -1), ErrBadMessage},
		{"nil value", prop(0, 0, -1, nilV, 0), ErrBadMessage},
		{"POLRound = Round", prop(0, 1, 1, val(1), 1), ErrBadMessage},
		{"POLRound below -1", prop(0, 1, -2, val(1), 1), ErrBadMessage},
		{"round too large", prop(0, maxRound+1, -1, val(1), int((maxRound+1)%4)), ErrBadMessage},
		{"not the leader", prop(0, 0, -1, val(1), 1), ErrNotProposer},
		{"from ourselves", prop(0, 3, -1, val(1), 3), ErrFromSelf},
		{"past height", prop(0, 0, -1, val(1), 0), nil}, // accepted; used below
	}
	for _, tt := range badProposals {
		err := m.StepProposal(tt.p, true)
		if tt.want == nil {
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	badVotes := []struct {
		name string
		v    Vote
		want error
	}{
		{"zero type", Vote{Height: 0, Value: val(1), Voter: 0}, ErrBadMessage},
		{"unknown type", Vote{Type: 9, Value: val(1), Voter: 0}, ErrBadMessage},
		{"voter out of range", pv(0, 0, val(1), 7), ErrBadMessage},
		{"negative voter", pv(0, 0, val(1), -3), ErrBadMessage},
		{"round too large", pv(0, maxRound+1, val(1), 0), ErrBadMessage},
		{"from ourselves", pv(0, 0, val(1), 3), ErrFromSelf},
		{"too far ahead", pv(3, 0, val(1), 0), ErrTooFarAhead},
	}
	for _, tt := range badVotes {
		if err := m.StepVote(tt.v); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// None of it counted: one more prevote for val(1) does not lock anything.
	mustStep(t, m, pv(0, 0, val(1), 0))
	if s := m.Status(); s.LockedRound != -1 || s.Step != StepPrevote {
		t.Fatalf("status = %+v", s)
	}
	if err := m.StartHeight(1); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.StepVote(pv(0, 0, val(1), 0)), ErrOldHeight)
	wantErr(t, m.StartHeight(0), ErrOldHeight)
}

func TestVoteEquivocation(t *testing.T) {
	m, _ := started(t, testConfig(3, 4), 0)
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	drain(m)
	mustStep(t, m, pv(0, 0, val(1), 1))
	wantErr(t, m.StepVote(pv(0, 0, val(1), 1)), ErrDuplicate)
	wantErr(t, m.StepVote(pv(0, 0, val(2), 1)), ErrEquivocation)
	rd := drain(m)
	if len(rd.Evidence) != 1 {
		t.Fatalf("evidence = %+v, want one", rd.Evidence)
	}
	e := rd.Evidence[0]
	if e.Member != 1 || e.Height != 0 || e.Round != 0 || e.First.Vote != pv(0, 0, val(1), 1) || e.Second.Vote != pv(0, 0, val(2), 1) {
		t.Fatalf("evidence = %+v", e)
	}
	// Evidence is reported once per member and height, however often it equivocates.
	wantErr(t, m.StepVote(pv(0, 0, nilV, 1)), ErrEquivocation)
	wantErr(t, m.StepVote(pv(0, 0, nilV, 1)), ErrDuplicate)
	mustStep(t, m, pc(0, 0, val(1), 1)) // another slot: counted
	if rd := drain(m); len(rd.Evidence) != 0 {
		t.Fatalf("evidence repeated: %+v", rd.Evidence)
	}
	if got := m.Status().Faulty; len(got) != 1 || got[0] != 1 {
		t.Fatalf("Faulty = %v", got)
	}
	l := m.hlog.round(0)
	// val(2) is proposed by nobody, so that vote is not kept; nil always is. The member is counted
	// once among all prevoters.
	if l.prevotes.count(val(2)) != 0 || l.prevotes.count(nilV) != 1 || l.prevotes.count(val(1)) != 2 || l.prevotes.total != 2 {
		t.Fatalf("prevote counts %v total %d", l.prevotes.byValue, l.prevotes.total)
	}
	// With member 0 that is a quorum for val(1).
	mustStep(t, m, pv(0, 0, val(1), 0))
	wantVotes(t, drain(m), pc(0, 0, val(1), 3))
	// Only extra votes some rule can count are kept: precommits for the value of a proposal of
	// their attempt; prevotes also for a later proposal's proof-of-lock value.
	wantErr(t, m.StepProposal(prop(0, 0, -1, val(10), 0), true), ErrEquivocation) // leader's second value
	wantErr(t, m.StepVote(pc(0, 0, val(10), 1)), ErrEquivocation)
	wantErr(t, m.StepVote(pc(0, 0, val(11), 1)), ErrEquivocation)
	mustPropose(t, m, prop(0, 1, 0, val(12), 1), true) // attempt 1 proposal with POL round 0
	wantErr(t, m.StepVote(pc(0, 0, val(12), 1)), ErrEquivocation)
	wantErr(t, m.StepVote(pv(0, 0, val(12), 1)), ErrEquivocation)
	wantErr(t, m.StepVote(pv(0, 0, val(13), 1)), ErrEquivocation)
	l = m.hlog.round(0)
	if got := l.precommits.extra[1]; len(got) != 1 || got[0].Value != val(10) {
		t.Fatalf("extra precommits %+v, want only val(10)", got)
	}
	if got := l.prevotes.extra[1]; len(got) != 2 || got[0].Value != nilV || got[1].Value != val(12) {
		t.Fatalf("extra prevotes %+v, want nil and val(12)", got)
	}
}

// TestEquivocatorStillCounts is the regression behind voteSet's design. Member 1 is caught
// equivocating in attempt 5; its later vote in attempt 0 must still count, or member 3 could not lock,
// and member 2, which saw member 1's nil prevote first, could never verify member 3's proof of lock.
func TestEquivocatorStillCounts(t *testing.T) {
	m3, _ := started(t, testConfig(3, 4), 0)
	m2, _ := started(t, testConfig(2, 4), 0)
	for _, m := range []*Machine{m3, m2} {
		mustStep(t, m, pv(0, 5, val(9), 1))
		wantErr(t, m.StepVote(pv(0, 5, nilV, 1)), ErrEquivocation)
		mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	}
	wantErr(t, m2.StepVote(pv(0, 0, nilV, 1)), nil)
	mustStep(t, m3, pv(0, 0, val(1), 0), pv(0, 0, val(1), 1))
	if s := m3.Status(); s.LockedRound != 0 || s.LockedValue != val(1) {
		t.Fatalf("member 3 did not lock: %+v", s)
	}
	// Member 2 (prevoted val(1) itself) sees 0's prevote and then 1's conflicting one.
	mustStep(t, m2, pv(0, 0, val(1), 0))
	wantErr(t, m2.StepVote(pv(0, 0, val(1), 1)), ErrEquivocation)
	if got := m2.hlog.round(0).prevotes.count(val(1)); got != 3 {
		t.Fatalf("member 2 counts %d prevotes for val(1), want 3", got)
	}
	// So member 2 accepts member 3's proof of lock in attempt 3 (led by 3), after skipping there.
	mustStep(t, m2, pc(0, 3, nilV, 0), pc(0, 3, nilV, 1))
	drain(m2)
	mustPropose(t, m2, prop(0, 3, 0, val(1), 3), true)
	wantVotes(t, drain(m2), pv(0, 3, val(1), 2))
}

func TestProposalEquivocation(t *testing.T) {
	m, _ := started(t, testConfig(3, 4), 0)
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	wantErr(t, m.StepProposal(prop(0, 0, -1, val(1), 0), true), ErrDuplicate)
	wantErr(t, m.StepProposal(prop(0, 0, -1, val(2), 0), true), ErrEquivocation)
	rd := drain(m)
	wantVotes(t, rd, pv(0, 0, val(1), 3)) // the first proposal is the one acted on
	if len(rd.Evidence) != 1 || rd.Evidence[0].First.Proposal.Value != val(1) || rd.Evidence[0].Second.Proposal.Value != val(2) {
		t.Fatalf("evidence = %+v", rd.Evidence)
	}
	wantErr(t, m.StepProposal(prop(0, 0, 0, val(3), 0), true), ErrBadMessage)
	wantErr(t, m.StepProposal(prop(0, 0, -1, val(3), 0), true), ErrEquivocation)
	if n := len(m.hlog.round(0).proposals); n != maxProposalsPerRound {
		t.Fatalf("%d proposals stored", n)
	}
	if rd := drain(m); len(rd.Evidence) != 0 {
		t.Fatal("evidence reported twice")
	}
}

func TestProposalEquivocationDecides(t *testing.T) {
	// N = 7 (quorum 5): the leader 0 equivocates; members 1..4 and we (6) go with the second value.
	cfg := testConfig(6, 7)
	m, _ := started(t, cfg, 0)
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	wantErr(t, m.StepProposal(prop(0, 0, -1, val(2), 0), true), ErrEquivocation)
	wantVotes(t, drain(m), pv(0, 0, val(1), 6))
	// Line 36 acts on the second proposal although we prevoted the first: lock and precommit val(2).
	mustStep(t, m, pv(0, 0, val(2), 1), pv(0, 0, val(2), 2), pv(0, 0, val(2), 3), pv(0, 0, val(2), 4), pv(0, 0, val(2), 5))
	if s := m.Status(); s.ValidValue != val(2) || s.LockedValue != val(2) || s.LockedRound != 0 {
		t.Fatalf("status = %+v, want locked on val(2)", s)
	}
	wantVotes(t, drain(m), pc(0, 0, val(2), 6))
	mustStep(t, m, pc(0, 0, val(2), 1), pc(0, 0, val(2), 2), pc(0, 0, val(2), 3))
	if len(drain(m).Decisions) != 0 {
		t.Fatal("decided on 4 precommits")
	}
	mustStep(t, m, pc(0, 0, val(2), 4))
	rd := drain(m)
	if len(rd.Decisions) != 1 || rd.Decisions[0].Value != val(2) {
		t.Fatalf("decisions = %+v, want val(2)", rd.Decisions)
	}
}

func TestFutureHeights(t *testing.T) {
	cfg := testConfig(3, 4)
	cfg.FutureBufferPerSender = 3
	m, _ := started(t, cfg, 0)
	// Height 1: leader is member 1. Everything arrives before we finish height 0.
	mustPropose(t, m, prop(1, 0, -1, val(8), 1), false) // verdict ignored for a future height
	mustStep(t, m, pv(1, 0, val(8), 0), pv(1, 0, val(8), 1), pv(1, 0, val(8), 2))
	mustStep(t, m, pc(1, 0, val(8), 0), pc(1, 0, val(8), 1))
	wantErr(t, m.StepVote(pc(1, 0, val(8), 1)), ErrDuplicate)
	wantErr(t, m.StepVote(pc(1, 1, val(8), 1)), ErrBufferFull)
	mustStep(t, m, pc(2, 0, val(9), 2)) // height 2 is still within MaxFutureHeights
	wantErr(t, m.StepVote(pc(3, 0, val(9), 2)), ErrTooFarAhead)
	if s := m.Status(); s.Round != 0 || s.Height != 0 || s.Step != StepPropose {
		t.Fatalf("future messages changed the current height: %+v", s)
	}
	if err := m.StartHeight(1); err != nil {
		t.Fatal(err)
	}
	rd := drain(m)
	if len(rd.Validate) != 1 || rd.Validate[0] != prop(1, 0, -1, val(8), 1) {
		t.Fatalf("Validate = %+v, want the buffered proposal", rd.Validate)
	}
	wantVotes(t, rd) // no proposal in the log yet, so no prevote
	mustPropose(t, m, rd.Validate[0], true)
	rd = drain(m)
	// Prevote, then the buffered prevotes lock, then 2 buffered + our precommit decide.
	wantVotes(t, rd, pv(1, 0, val(8), 3), pc(1, 0, val(8), 3))
	if len(rd.Decisions) != 1 || rd.Decisions[0].Value != val(8) {
		t.Fatalf("decisions = %+v", rd.Decisions)
	}
	// Jumping two heights (catch-up) drops what was buffered for the skipped one.
	if err := m.StartHeight(3); err != nil {
		t.Fatal(err)
	}
	for s, buf := range m.future {
		if len(buf) != 0 {
			t.Fatalf("sender %d still has %d buffered messages", s, len(buf))
		}
	}
}

func TestBufferBeforeFirstStart(t *testing.T) {
	m, err := New(testConfig(3, 4), nil)
	if err != nil {
		t.Fatal(err)
	}
	mustStep(t, m, pc(0, 0, nilV, 0), pc(0, 0, nilV, 1), pc(0, 0, nilV, 2))
	if m.HasReady() {
		t.Fatal("output before StartHeight")
	}
	if err := m.StartHeight(0); err != nil {
		t.Fatal(err)
	}
	ticks(m, int(m.cfg.Precommit.Base))
	if m.Status().Round != 1 {
		t.Fatalf("buffered precommits not replayed: %+v", m.Status())
	}
}

func TestFarRoundsAreBounded(t *testing.T) {
	m, _ := started(t, testConfig(3, 4), 0)
	// Member 0 walks through rounds 10..1000 alone; only its two highest stay in the log.
	for r := uint32(10); r <= 1000; r++ {
		mustStep(t, m, pv(0, r, nilV, 0))
	}
	if len(m.hlog.rounds) > farRoundsPerSender {
		t.Fatalf("%d attempts in the log", len(m.hlog.rounds))
	}
	wantErr(t, m.StepVote(pc(0, 50, nilV, 0)), ErrRoundTooFar)
	// A second member in its latest attempt is f+1: we skip there.
	mustStep(t, m, pc(0, 1000, nilV, 1))
	if m.Status().Round != 1000 {
		t.Fatalf("round = %d, want 1000", m.Status().Round)
	}
	// Far slots do not limit attempts close to ours.
	mustStep(t, m, pv(0, 1001, nilV, 2), pc(0, 1001, nilV, 2))
}

func TestRebroadcastAndRelay(t *testing.T) {
	cfg := testConfig(1, 4)
	cfg.RebroadcastEvery = 5
	m, _ := started(t, cfg, 0)
	ticks(m, 5)
	if rd := drain(m); len(rd.Messages) != 0 || len(rd.Relay) != 0 {
		t.Fatalf("rebroadcast with nothing signed: %+v", rd)
	}
	// val(7) becomes valid at round 0 (see TestLeaderReproposesValidValue).
	mustPropose(t, m, prop(0, 0, -1, val(7), 0), true)
	mustStep(t, m, pv(0, 0, val(7), 0), pv(0, 0, val(7), 2))
	wantVotes(t, drain(m), pv(0, 0, val(7), 1), pc(0, 0, val(7), 1))
	var rd Ready
	for i := 0; i < 5 && len(rd.Messages) == 0; i++ {
		m.Tick()
		rd = drain(m)
	}
	if len(rd.Messages) != 2 || !rd.Messages[0].Rebroadcast || rd.Messages[0].Vote != pv(0, 0, val(7), 1) ||
		rd.Messages[1].Vote != pc(0, 0, val(7), 1) {
		t.Fatalf("rebroadcast = %+v", rd.Messages)
	}
	if len(rd.Relay) != 0 {
		t.Fatalf("relayed %+v although we moved since the last rebroadcast", rd.Relay)
	}
	ticks(m, 4)
	if m.HasReady() {
		t.Fatal("rebroadcast before RebroadcastEvery ticks")
	}
	m.Tick()
	rd = drain(m)
	if len(rd.Messages) != 2 {
		t.Fatalf("no rebroadcast after RebroadcastEvery ticks: %+v", rd)
	}
	// Still in the same place: relay what brought us here (the proof of lock of round 0, which is
	// also the current round's prevotes).
	if len(rd.Relay) != 2 || rd.Relay[0] != pv(0, 0, val(7), 0) || rd.Relay[1] != pv(0, 0, val(7), 2) {
		t.Fatalf("relay = %+v, want the POL prevotes of members 0 and 2", rd.Relay)
	}
}

func TestRelaySet(t *testing.T) {
	m, _ := started(t, testConfig(3, 4), 0)
	mustPropose(t, m, prop(0, 0, -1, val(1), 0), true)
	mustStep(t, m, pv(0, 0, val(1), 0), pv(0, 0, val(1), 1)) // lock val(1) in round 0
	mustStep(t, m, pc(0, 0, nilV, 0), pc(0, 0, val(2), 1))
	ticks(m, int(m.cfg.Precommit.Base)) // timeout of round 0 on 3 precommits
	mustStep(t, m, pv(0, 1, nilV, 2), pc(0, 1, nilV, 2))
	if m.Status().Round != 1 {
		t.Fatalf("round %d", m.Status().Round)
	}
	got := m.relaySet()
	want := []Vote{
		pv(0, 0, val(1), 0), pv(0, 0, val(1), 1), // proof of lock (validRound 0)
		pc(0, 0, nilV, 0), pc(0, 0, val(2), 1), // what timed us out of round 0
		pv(0, 1, nilV, 2), pc(0, 1, nilV, 2), // the current round
	}
	if !slices.Equal(got, want) {
		t.Fatalf("relaySet = %+v\nwant %+v", got, want)
	}
}

func TestReadyAdvance(t *testing.T) {
	m, rd := started(t, testConfig(0, 4), 0)
	if rd.Persist == nil || rd.Persist.Height != 0 {
		t.Fatalf("start not persisted: %+v", rd.Persist)
	}
	if m.HasReady() {
		t.Fatal("HasReady after Advance")
	}
	if err := m.Propose(0, 0, val(1)); err != nil {
		t.Fatal(err)
	}
	rd1 := m.Ready()
	// Output produced between Ready and Advance survives the Advance.
	mustStep(t, m, pv(0, 0, val(1), 1), pv(0, 0, val(1), 2))
	m.Advance(rd1)
	rd2 := drain(m)
	wantVotes(t, rd1, pv(0, 0, val(1), 0))
	wantVotes(t, rd2, pc(0, 0, val(1), 0))
	if rd2.Persist == nil || len(rd2.Persist.LastSigned) != 2 || rd2.Persist.LockedRound != 0 {
		t.Fatalf("second Persist = %+v", rd2.Persist)
	}
}

func TestRebroadcastRotatesOlderMessages(t *testing.T) {
	cfg := testConfig(3, 4)
	cfg.RebroadcastEvery = 1
	m, _ := started(t, cfg, 0)
	// Attempts 0..2 led by 0, 1, 2: in each we prevote and precommit nil after the timeouts, then move on.
	var signed []Vote
	for r := uint32(0); r < 3; r++ {
		mustStep(t, m, pv(0, r, val(1), 0), pv(0, r, val(2), 1), pc(0, r, nilV, 0), pc(0, r, nilV, 1))
		for m.Status().Round == r {
			m.Tick()
			signed = append(signed, votesOf(drain(m))...)
		}
	}
	// Attempt 3 is ours: NeedValue, no answer. Collect what the next rebroadcasts repeat.
	if len(signed) != 6 {
		t.Fatalf("signed %d votes, want 6: %+v", len(signed), signed)
	}
	repeated := make(map[Vote]int)
	for range 4 {
		m.Tick()
		for _, msg := range drain(m).Messages {
			if msg.Rebroadcast && msg.Kind == KindVote {
				repeated[msg.Vote]++
			}
		}
	}
	for _, v := range signed {
		if repeated[v] == 0 {
			t.Fatalf("%+v never repeated; repeated %v", v, repeated)
		}
	}
}
