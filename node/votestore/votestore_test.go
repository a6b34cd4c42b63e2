package votestore

import (
	"testing"

	"github.com/byzpp/byzpp/consensus"
)

func vote(h uint64, r uint32, typ consensus.VoteType, voter int, value byte) consensus.Vote {
	return consensus.Vote{Type: typ, Height: h, Round: r, Value: consensus.ValueID{value}, Voter: voter}
}

// TestFloodEvictsOnlyTheFlooder: one voter's flood at a height never evicts another voter's votes,
// and the flooder keeps at most its allowance, its newest attempts.
func TestFloodEvictsOnlyTheFlooder(t *testing.T) {
	s := New(8)
	honest := vote(3, 0, consensus.Precommit, 1, 7)
	if !s.Put(honest, []byte("h"), true) {
		t.Fatal("honest vote refused")
	}
	for i := range 1000 {
		s.Put(vote(3, uint32(1000+i), consensus.Prevote, 2, byte(i)), []byte("f"), false)
	}
	if raw, unverified, ok := s.Get(honest); !ok || string(raw) != "h" || !unverified {
		t.Fatalf("honest vote: %q %v %v", raw, unverified, ok)
	}
	if s.Len() != 9 {
		t.Fatalf("%d votes kept, want 8 of the flooder and 1", s.Len())
	}
	if !s.Has(vote(3, 1999, consensus.Prevote, 2, byte(999%256))) || s.Has(vote(3, 1000, consensus.Prevote, 2, 0)) {
		t.Fatal("the flooder's newest attempts should stay, its oldest go")
	}
	// A vote older than all of a full voter's is refused rather than evicting a newer one.
	if s.Put(vote(3, 5, consensus.Prevote, 2, 1), nil, false) {
		t.Fatal("an old vote displaced a newer one")
	}
}

func TestStoreOperations(t *testing.T) {
	s := New(4)
	a, b := vote(1, 0, consensus.Prevote, 0, 1), vote(2, 0, consensus.Precommit, 0, 1)
	for _, v := range []consensus.Vote{a, b} {
		if !s.Put(v, []byte{1}, true) || s.Put(v, []byte{2}, false) {
			t.Fatal("put twice")
		}
	}
	s.MarkVerified(a)
	if _, unverified, _ := s.Get(a); unverified {
		t.Fatal("still unverified")
	}
	var voters []int
	s.Voters(2, func(v int) { voters = append(voters, v) })
	if len(voters) != 1 || voters[0] != 0 {
		t.Fatalf("voters at 2: %v", voters)
	}
	s.PruneBelow(2)
	if s.Has(a) || !s.Has(b) || s.Len() != 1 {
		t.Fatalf("prune: has a %v, has b %v, len %d", s.Has(a), s.Has(b), s.Len())
	}
	s.Delete(b)
	if s.Has(b) || s.Len() != 0 {
		t.Fatal("delete")
	}
	s.Voters(2, func(int) { t.Fatal("a voter left after delete") })
}

func TestOverruns(t *testing.T) {
	s := New(4)
	for i := range 10 {
		s.Put(vote(1, uint32(i), consensus.Prevote, 2, 1), nil, false)
	}
	if got := s.Overruns(1, 2); got != 6 {
		t.Fatalf("overruns %d, want 6", got)
	}
	if s.Overruns(1, 1) != 0 {
		t.Fatal("another voter overran")
	}
	s.PruneBelow(2)
	if s.Overruns(1, 2) != 0 {
		t.Fatal("overruns of a pruned height kept")
	}
}
