package consensus

import (
	"errors"
	"testing"
)

// roundRobin is the leader function of the unit tests: (h + r) mod n.
func roundRobin(n int) func(uint64, uint32) int {
	return func(h uint64, r uint32) int { return int((h + uint64(r)) % uint64(n)) }
}

func testConfig(self, n int) Config {
	return Config{
		Self:             self,
		N:                n,
		Proposer:         roundRobin(n),
		Propose:          TimeoutConfig{Base: 10, Delta: 5},
		Prevote:          TimeoutConfig{Base: 6, Delta: 2},
		Precommit:        TimeoutConfig{Base: 6, Delta: 2},
		MaxFutureHeights: 2,
	}
}

// started returns a machine for (self, n) at height h, with its start-up output drained.
func started(t *testing.T, cfg Config, h uint64) (*Machine, Ready) {
	t.Helper()
	m, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.StartHeight(h); err != nil {
		t.Fatal(err)
	}
	return m, drain(m)
}

// drain takes and acknowledges everything pending.
func drain(m *Machine) Ready {
	rd := m.Ready()
	m.Advance(rd)
	return rd
}

func val(b byte) ValueID {
	var v ValueID
	v[0] = b
	v[31] = b
	return v
}

var nilV ValueID

func pv(h uint64, r uint32, v ValueID, voter int) Vote {
	return Vote{Type: Prevote, Height: h, Round: r, Value: v, Voter: voter}
}

func pc(h uint64, r uint32, v ValueID, voter int) Vote {
	return Vote{Type: Precommit, Height: h, Round: r, Value: v, Voter: voter}
}

func prop(h uint64, r uint32, pol int32, v ValueID, proposer int) Proposal {
	return Proposal{Height: h, Round: r, POLRound: pol, Value: v, Proposer: proposer}
}

// votesOf returns the fresh (not rebroadcast) votes in rd.
func votesOf(rd Ready) []Vote {
	var out []Vote
	for _, msg := range rd.Messages {
		if msg.Kind == KindVote && !msg.Rebroadcast {
			out = append(out, msg.Vote)
		}
	}
	return out
}

func proposalsOf(rd Ready) []Proposal {
	var out []Proposal
	for _, msg := range rd.Messages {
		if msg.Kind == KindProposal && !msg.Rebroadcast {
			out = append(out, msg.Proposal)
		}
	}
	return out
}

// mustStep delivers votes that must all be accepted.
func mustStep(t *testing.T, m *Machine, vs ...Vote) {
	t.Helper()
	for _, v := range vs {
		if err := m.StepVote(v); err != nil {
			t.Fatalf("StepVote(%+v): %v", v, err)
		}
	}
}

func mustPropose(t *testing.T, m *Machine, p Proposal, valid bool) {
	t.Helper()
	if err := m.StepProposal(p, valid); err != nil {
		t.Fatalf("StepProposal(%+v): %v", p, err)
	}
}

func ticks(m *Machine, k int) {
	for range k {
		m.Tick()
	}
}

// wantVotes checks that rd carries exactly the fresh votes want, in order.
func wantVotes(t *testing.T, rd Ready, want ...Vote) {
	t.Helper()
	got := votesOf(rd)
	if len(got) != len(want) {
		t.Fatalf("votes = %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("vote %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}
