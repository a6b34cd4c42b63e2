package accountability

import (
	"errors"
	"testing"
)

// TestOmitted: the censorship rule as a pure function of what this peer holds.
func TestOmitted(t *testing.T) {
	const collect = 10 // limit: 10 + 10/5 = 12 ticks
	held := []Held{{Member: 1, Arrived: 0}, {Member: 2, Arrived: 5}, {Member: 3, Arrived: 20}}
	cases := []struct {
		name     string
		held     []Held
		included []int
		now      uint64
		excused  []int // indices in held that are excused
		want     int
	}{
		{"everything included", held, []int{1, 2, 3}, 100, nil, -1},
		{"nothing held", nil, nil, 100, nil, -1},
		{"omitted but within the window and its grace", held, []int{3}, 12, nil, -1},
		{"omitted one tick past the grace", held, []int{3}, 13, nil, 0},
		{"the first omission in held's order", held, nil, 100, nil, 0},
		{"an included message is not asked about", held, []int{1}, 100, nil, 1},
		{"excused (bad signature or known faulty)", held, []int{3}, 100, []int{0}, 1},
		{"all excused", held, nil, 100, []int{0, 1, 2}, -1},
		{"arrived after now (clock restarted)", []Held{{Member: 1, Arrived: 50}}, nil, 40, nil, -1},
		{"inclusion of another member does not cover it", held, []int{2, 3}, 17, nil, 0},
		{"only the long-held message counts", held, []int{1}, 17, nil, -1},
		{"...until it is held long enough", held, []int{1}, 18, nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var asked []int
			excused := func(i int) bool {
				asked = append(asked, i)
				for _, e := range c.excused {
					if e == i {
						return true
					}
				}
				return false
			}
			if got := Omitted(c.held, c.included, c.now, collect, excused); got != c.want {
				t.Errorf("Omitted = %d, want %d", got, c.want)
			}
			for _, i := range asked {
				if c.now-c.held[i].Arrived <= collect+CensorGrace(collect) {
					t.Errorf("asked to excuse message %d, which is not overdue", i)
				}
				for _, m := range c.included {
					if m == c.held[i].Member {
						t.Errorf("asked to excuse message %d, which is included", i)
					}
				}
			}
		})
	}
	if got := Omitted(held, nil, 100, collect, nil); got != 0 {
		t.Errorf("nil excused: Omitted = %d, want 0", got)
	}
}

// TestCheckCensorship: the Book names the proposer of a censoring fresh proposal once per attempt —
// only when it had been handed the message — refuses it either way, and never refuses a locked
// re-proposal or its own proposal.
func TestCheckCensorship(t *testing.T) {
	held := []Held{{Member: 1, Arrived: 0}}
	cases := []struct {
		name string
		p    Proposal
		want bool
	}{
		{"fresh proposal omitting", Proposal{Height: 3, Proposer: 2, POLRound: -1}, true},
		{"fresh proposal including", Proposal{Height: 3, Proposer: 2, POLRound: -1, Included: []int{1}}, false},
		{"locked re-proposal", Proposal{Height: 3, Attempt: 1, Proposer: 2, POLRound: 0}, false},
		{"own proposal", Proposal{Height: 3, Proposer: 0, POLRound: -1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBook(4, 0, 3)
			i, err := b.CheckCensorship(c.p, held, 100, 10, nil, nil) // never handed over: refused, not named
			if errors.Is(err, ErrOmitted) != c.want || errors.Is(err, ErrCensored) || (i >= 0) != c.want {
				t.Fatalf("not handed over: %d, %v, want omitted=%v", i, err, c.want)
			}
			if got := b.Count(c.p.Proposer, Censor); got != 0 {
				t.Fatalf("named censor %d times for a message it may never have had", got)
			}
			handed := func(int) bool { return true }
			for range 3 { // a rebroadcast proposal is named once
				_, err := b.CheckCensorship(c.p, held, 100, 10, nil, handed)
				if errors.Is(err, ErrCensored) != c.want {
					t.Fatalf("err = %v, want censored=%v", err, c.want)
				}
			}
			want := uint64(0)
			if c.want {
				want = 1
			}
			if got := b.Count(c.p.Proposer, Censor); got != want {
				t.Errorf("proposer named censor %d times, want %d", got, want)
			}
		})
	}
}
