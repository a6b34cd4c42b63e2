package accountability

import (
	"sync"
	"testing"
	"time"

	"github.com/byzpp/byzpp/consensus"
)

func TestBlameCounts(t *testing.T) {
	b := newBook(4, 0, 10)
	if b.Snapshot() != nil {
		t.Fatal("empty book has a snapshot")
	}
	b.Blame(1, Invalid)
	b.Blame(1, Invalid)
	b.Blame(-1, Invalid) // out of range: ignored
	b.Blame(4, Invalid)
	b.BlameOnce(2, BadProposal, 10, 0)
	b.BlameOnce(2, BadProposal, 10, 0)
	b.BlameOnce(2, BadProposal, 10, 1)
	b.MarkFaulty(3)
	snap := b.Snapshot()
	want := map[int]map[string]uint64{1: {Invalid: 2}, 2: {BadProposal: 2}, 3: {Equivocate: 1}}
	if len(snap) != len(want) {
		t.Fatalf("snapshot %v, want %v", snap, want)
	}
	for m, kinds := range want {
		for k, n := range kinds {
			if snap[m][k] != n {
				t.Errorf("snapshot %v, want %v", snap, want)
			}
		}
	}
	snap[1][Invalid] = 99
	if b.Count(1, Invalid) != 2 {
		t.Error("the snapshot aliases the book")
	}
	if !b.Faulty(3) || b.Faulty(2) {
		t.Error("faulty members wrong")
	}
}

// TestBlameOnceBounded: the once set forgets old heights.
func TestBlameOnceBounded(t *testing.T) {
	cur := uint64(0)
	b := New(Config{Members: 4, FutureHeights: 4, Current: func() uint64 { return cur }})
	for h := range uint64(1000) {
		cur = h
		b.BlameOnce(1, BadProposal, h, 0)
	}
	if len(b.once) > 64*4+1 {
		t.Errorf("%d keys kept", len(b.once))
	}
	if got := b.Count(1, BadProposal); got != 1000 {
		t.Errorf("named %d times, want 1000", got)
	}
}

func TestDoubleVote(t *testing.T) {
	v := func(voter int, h uint64, value byte) consensus.Vote {
		return consensus.Vote{Type: consensus.Prevote, Height: h, Voter: voter, Value: consensus.ValueID{value}}
	}
	cases := []struct {
		name  string
		votes []consensus.Vote
		want  []bool
	}{
		{"same vote twice", []consensus.Vote{v(1, 10, 1), v(1, 10, 1)}, []bool{false, false}},
		{"two values", []consensus.Vote{v(1, 10, 1), v(1, 10, 2)}, []bool{false, true}},
		{"two voters", []consensus.Vote{v(1, 10, 1), v(2, 10, 2)}, []bool{false, false}},
		{"own votes are not checked", []consensus.Vote{v(0, 10, 1), v(0, 10, 2)}, []bool{false, false}},
		{"late within the window", []consensus.Vote{v(1, 8, 1), v(1, 8, 2)}, []bool{false, true}},
		{"too old", []consensus.Vote{v(1, 7, 1), v(1, 7, 2)}, []bool{false, false}},
		{"too far ahead", []consensus.Vote{v(1, 15, 1), v(1, 15, 2)}, []bool{false, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBook(4, 0, 10)
			for i, vote := range c.votes {
				if got := b.DoubleVote(vote); got != c.want[i] {
					t.Fatalf("vote %d: DoubleVote = %v, want %v", i, got, c.want[i])
				}
			}
			conflict := c.want[len(c.want)-1]
			if b.Faulty(1) != conflict || (b.Count(1, Equivocate) == 1) != conflict {
				t.Errorf("faulty %v, named %d times; conflict %v", b.Faulty(1), b.Count(1, Equivocate), conflict)
			}
		})
	}
}

func TestOffenceCutOff(t *testing.T) {
	b := newBook(4, 0, 0)
	start := time.Unix(1000, 0)
	cuts := 0
	for i := range 2*CutOffAfter + 10 {
		if b.Offence(2, Flood, start.Add(time.Duration(i)*time.Millisecond)) {
			cuts++
		}
	}
	if cuts != 2 || b.CutOffs() != 2 {
		t.Errorf("cut off %d times (CutOffs %d), want 2", cuts, b.CutOffs())
	}
	if got := b.Count(2, Flood); got != 2*CutOffAfter+10 {
		t.Errorf("named %d times", got)
	}
	// Spread out beyond the window: never cut off.
	for i := range 2 * CutOffAfter {
		if b.Offence(1, InvalidFrame, start.Add(time.Duration(i)*CutOffWindow/10)) {
			t.Fatalf("cut off at offence %d although spread over %v", i, CutOffWindow*10)
		}
	}
	if b.Offence(0, Flood, start) || b.Offence(4, Flood, start) || b.Count(0, Flood) != 0 {
		t.Error("self or out of range offence counted")
	}
}

// TestConcurrent: the Book is written from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	b := newBook(4, 0, 10)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				m := 1 + (g+i)%3
				b.Blame(m, Invalid)
				b.NoteAlive(m, uint64(i))
				b.ClearSilent(m, uint64(i))
				b.NoteStale(m, uint64(i%12), 10)
				b.DoubleVote(consensus.Vote{Height: 10, Voter: m, Value: consensus.ValueID{byte(i)}})
				b.Offence(m, Flood, time.Now())
				_ = b.Snapshot()
				_ = b.HeardAbove(m)
				b.JudgeSilent(uint64(i), uint64(i))
			}
		})
	}
	wg.Wait()
	total := uint64(0)
	for m := 1; m < 4; m++ {
		total += b.Count(m, Invalid)
	}
	if total != 8*200 {
		t.Errorf("%d invalid counted, want %d", total, 8*200)
	}
}
