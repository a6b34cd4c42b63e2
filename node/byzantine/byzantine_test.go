package byzantine

import (
	"testing"

	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/p2p/wire"
)

// fakeEnv is an Env for the attacks that need little of it; a method it does not define panics.
type fakeEnv struct {
	Env
	self int
	byz  []bool
}

func (e fakeEnv) Self() int            { return e.self }
func (e fakeEnv) Byzantine(j int) bool { return e.byz[j] }
func (e fakeEnv) HonestMessage(*method.State, method.Plan, bool) compress.Vector {
	return compress.Vector{Dim: 3, Values: []float64{1, 2, 3}}
}
func (e fakeEnv) Dim() int { return 3 }
func (e fakeEnv) DigestOf([]engine.Inclusion, int) (engine.Digest, bool) {
	return engine.Digest{}, false
}

// TestAttacksWithoutANode drives the simplest attacks through a fake Env: no Node is needed.
func TestAttacksWithoutANode(t *testing.T) {
	env := fakeEnv{self: 1, byz: []bool{false, true, true, false}}
	if a, err := New("", env); err != nil || a != nil {
		t.Fatalf("honest list: %v, %v; want a nil Adversary", a, err)
	}
	if _, err := New("no-such-attack", env); err == nil {
		t.Fatal("an unknown attack was accepted")
	}
	c := &engine.Candidate{StateDigest: engine.Digest{7},
		Included: []engine.Inclusion{{Member: 0}, {Member: 1}, {Member: 2}, {Member: 3}}}

	wrong, _ := New(AttackWrongDigest, env)
	if inc, sd := wrong.LeaderChoice(c); len(inc) != 4 || sd[0] != 7^0xff {
		t.Errorf("wrong-digest proposes %v %x", inc, sd[:1])
	}
	censor, _ := New(AttackCensor, env)
	if inc, _ := censor.LeaderChoice(c); len(inc) != 2 || inc[0].Member != 1 || inc[1].Member != 2 {
		t.Errorf("censor keeps %v, want its own and the Byzantine members' messages", inc)
	}
	if w, ok := censor.CollectWindow(10); !ok || w != 15 {
		t.Errorf("censor waits %d (%v), want 15", w, ok)
	}
	if _, ok := wrong.CollectWindow(10); ok {
		t.Error("wrong-digest overrides the honest collection rule")
	}
	if c.StateDigest[0] != 7 || len(c.Included) != 4 {
		t.Error("LeaderChoice changed the candidate")
	}

	tamper, _ := New(AttackTamperRelay, env)
	votes := []wire.RelayedVote{{MAC: [wire.MACSize]byte{1}}, {MAC: [wire.MACSize]byte{2}}}
	tamper.TamperRelay(votes)
	if votes[0].MAC[0] != 1^0x80 || votes[1].MAC != votes[0].MAC {
		t.Errorf("tamper-relay frame: %v", votes)
	}
	// Round messages: only a learning-level attack takes them over, and one that reads the honest
	// messages sends nothing ahead of the decision (it crafts once those arrive).
	if censor.OwnRound(t.Context()) {
		t.Error("censor took over the honest round message")
	}
	if v, ok := censor.RoundAhead(nil, method.Plan{}); !ok || len(v.Values) != 3 {
		t.Errorf("censor sends %v (%v) ahead, want the honest message", v, ok)
	}
	alie, _ := New("alie", env)
	if _, ok := alie.RoundAhead(nil, method.Plan{}); ok {
		t.Error("alie sends a message ahead, before it holds the honest ones")
	}
	mute, _ := New(AttackMute, env)
	if !mute.Silent() || !mute.DropsRelay() || tamper.DropsRelay() || mute.Forges() {
		t.Error("mute/tamper-relay flags")
	}
}
