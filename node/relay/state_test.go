package relay

import (
	"testing"
	"time"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p/wire"
)

// TestFlushAtQuorum: a step's votes wait until its quorum is counted (any path), then go out
// together; a vote after the quorum waits for the tick and is marked late; a voter has at most
// votesPerVoter votes forwarded; an old step is forgotten after sending what it holds.
func TestFlushAtQuorum(t *testing.T) {
	const n = 4 // quorum 3
	var s State
	s.Init(2)
	now := time.Unix(1000, 0)
	g := Group{Height: 5, Type: consensus.Prevote}
	take := func(voter int) bool {
		ok := s.Take(Vote{Group: g, Voter: voter, Raw: []byte{byte(voter)}, MACs: make([]wire.MAC, n)}, n)
		if ok {
			s.Count(g, voter, n)
			s.Pending(now, time.Second)
		}
		return ok
	}
	take(1)
	take(2)
	if out, _ := s.Flush(now, 5, n, false); out != nil || s.PendingVotes(g) != 2 {
		t.Fatalf("before the quorum: flushed %v, %d pending", out, s.PendingVotes(g))
	}
	s.Count(g, 0, n) // our own vote, counted by another path
	out, _ := s.Flush(now, 5, n, false)
	if len(out) != 2 || out[0].Late || s.PendingVotes(g) != 0 || !s.Due().IsZero() {
		t.Fatalf("at the quorum: %+v, clock %v", out, s.Due())
	}
	take(3)
	if out, _ := s.Flush(now, 5, n, false); out != nil {
		t.Fatal("a late vote went out before its tick")
	}
	if out, _ := s.Flush(now.Add(time.Second), 5, n, false); len(out) != 1 || !out[0].Late {
		t.Fatalf("after the tick: %+v", out)
	}
	if !take(3) || take(3) {
		t.Fatal("the per-voter bound is not votesPerVoter")
	}
	// Old steps send what they hold and are forgotten.
	if out, _ := s.Flush(now, 5+2+1, n, false); len(out) != 1 || len(s.groups) != 0 {
		t.Fatalf("old step: %+v, %d groups", out, len(s.groups))
	}
	// Bundles: a member gets the votes it did not cast, with its MAC.
	votes := []Vote{{Voter: 1, Raw: []byte{1}, MACs: []wire.MAC{{1}, {2}, {3}}}, {Voter: 0, Raw: []byte{0}}}
	if got := AppendFor(nil, votes, 1); len(got) != 1 || got[0].MAC != (wire.MAC{}) {
		t.Fatalf("for member 1: %+v", got)
	}
	if got := AppendFor(nil, votes, 2); len(got) != 2 || got[0].MAC != (wire.MAC{3}) {
		t.Fatalf("for member 2: %+v", got)
	}
}

// TestFallbacks: our vote sent only to the leader goes to everyone after FallbackWait ticks without
// progress, and is forgotten once consensus moves.
func TestFallbacks(t *testing.T) {
	var s State
	s.Init(2)
	at := Position{Height: 3, Round: 0, Step: consensus.StepPrevote}
	v := consensus.Vote{Type: consensus.Prevote, Height: 3, Voter: 1}
	w := v
	w.Type = consensus.Precommit
	s.Await(v, []byte("v"), 10, at)
	s.Await(w, []byte("w"), 10, at)
	wait := FallbackWait(50)
	if wait != 12 || FallbackWait(3) != 1 {
		t.Fatalf("FallbackWait(50) = %d, FallbackWait(3) = %d", wait, FallbackWait(3))
	}
	if out := s.Fallbacks(at, 10+wait-1, wait); len(out) != 0 {
		t.Fatalf("fell back early: %q", out)
	}
	if out := s.Fallbacks(at, 10+wait, wait); len(out) != 2 || s.Waiting() || s.Stats.Fallbacks != 2 {
		t.Fatalf("fell back %q, waiting %v", out, s.Waiting())
	}
	s.Await(v, []byte("v"), 10, at)
	moved := at
	moved.Step = consensus.StepPrecommit
	if out := s.Fallbacks(moved, 100, wait); len(out) != 0 || s.Awaiting(v) {
		t.Fatal("a vote fell back after consensus moved")
	}
	s.Await(v, []byte("v"), 10, at)
	s.NoteLeaderProposal(3, 0, 3)
	s.NoteLeaderProposal(4, 1, 3)
	if !s.HeardLeader(3) || s.HeardLeader(4) {
		t.Fatal("heard leader of an attempt other than 0")
	}
	s.Prune(4)
	if s.HeardLeader(3) || s.Awaiting(v) {
		t.Fatal("not pruned")
	}
}

// TestHandoverSplit: only late votes not handed to us, of heights up to the current one, are handed
// over, at most limit; our own vote gets its authenticator; adopting keeps a vote once.
func TestHandoverSplit(t *testing.T) {
	privs, pubs, ids := testPairMembers(t, 3)
	keys, _ := DerivePairKeys(privs[0], pubs, ids, 0, wire.RunID{})
	own := Vote{Group: Group{Height: 1}, Voter: 0, Raw: []byte("own"), Late: true}
	other := Vote{Group: Group{Height: 1}, Voter: 2, Raw: []byte("other"), MACs: make([]wire.MAC, 3), Late: true}
	out := []Vote{own, {Group: Group{Height: 1}, Voter: 1}, {Group: Group{Height: 2}, Voter: 1, Late: true},
		{Group: Group{Height: 1}, Voter: 1, Late: true, HandedOver: true}, other}
	h, keep := Handover(out, 1, 1, keys)
	if len(h.Votes) != 1 || len(h.Votes[0].MACs) != 3 || h.Votes[0].MACs[1] == (wire.MAC{}) || len(keep) != 4 || keep[3].Voter != 2 {
		t.Fatalf("handed %+v, kept %+v", h.Votes, keep)
	}
	var s State
	s.Init(2)
	if !s.Adopt(other, [32]byte{1}, 3) || s.Adopt(other, [32]byte{1}, 3) || !s.Adopted()[0].HandedOver {
		t.Fatal("a handed-over vote is not adopted exactly once")
	}
}
