package accountability

import "testing"

func newBook(n, self int, cur uint64) *Book {
	return New(Config{Members: n, Self: self, FutureHeights: 4, Current: func() uint64 { return cur }})
}

// TestJudgeSilence: the judgement of one suspicion, as a pure function of what the book knows.
func TestJudgeSilence(t *testing.T) {
	const h, at = 5, 10 // the suspected height, and the tick this peer decided it
	const due, ticks = h + SilenceGrace, at + SilenceGraceTicks
	cases := []struct {
		name              string
		s                 Suspicion
		decided, now      uint64
		wantDue, wantName bool
	}{
		{"grace in heights not run out", Suspicion{Height: h, DecidedAt: at, AliveAbove: h + 1}, due - 1, ticks + 100, false, false},
		{"grace in ticks not run out", Suspicion{Height: h, DecidedAt: at, AliveAbove: h + 1}, due, ticks - 1, false, false},
		{"both graces just run out: withholder named", Suspicion{Height: h, DecidedAt: at, AliveAbove: h + 1}, due, ticks, true, true},
		{"long after: still named", Suspicion{Height: h, DecidedAt: at, AliveAbove: h + 4}, due + 30, ticks + 400, true, true},
		{"vote for the height itself (voteAbove = h+1) does not clear by itself", Suspicion{Height: h, DecidedAt: at, VoteAbove: h + 1, AliveAbove: h + 1}, due, ticks, true, true},
		{"voted for a later height: fell behind, not named", Suspicion{Height: h, DecidedAt: at, VoteAbove: h + 2, AliveAbove: h + 1}, due, ticks, true, false},
		{"never heard from: not named", Suspicion{Height: h, DecidedAt: at}, due, ticks, true, false},
		{"heard from only below the height: not named", Suspicion{Height: h, DecidedAt: at, AliveAbove: h}, due, ticks, true, false},
		{"tick before the decision (clock restarted): not due", Suspicion{Height: h, DecidedAt: at, AliveAbove: h + 1}, due, 3, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			due, named := JudgeSilence(c.s, c.decided, c.now)
			if due != c.wantDue || named != c.wantName {
				t.Errorf("JudgeSilence = (due %v, silent %v), want (%v, %v)", due, named, c.wantDue, c.wantName)
			}
		})
	}
}

// TestSilenceNeedsGrace: a member with no vote at a decided height is named silent only once
// SilenceGrace more heights were decided without any vote of it for that height arriving.
func TestSilenceNeedsGrace(t *testing.T) {
	cases := []struct {
		name      string
		voted     map[uint64][]int // votes arrived (onVote) before each height is decided
		late      map[uint64][]int // votes for a height that arrive after it was decided
		decide    uint64           // heights 1..decide are decided
		alive     []int            // members whose round message for each height arrives
		wantNamed map[int]uint64
		sameTick  bool // every height is decided within one tick (a fast cluster, or fake time)
	}{
		{"everyone votes", map[uint64][]int{1: {1, 2, 3}, 2: {1, 2, 3}, 3: {1, 2, 3}}, nil, 3, []int{1, 2, 3}, nil, false},
		{"late voter cleared", map[uint64][]int{1: {1, 2}, 2: {1, 2}, 3: {1, 2}, 4: {1, 2}},
			map[uint64][]int{1: {3}, 2: {3}, 3: {3}, 4: {3}}, 4, []int{1, 2, 3}, nil, false},
		{"withholder named once per judged height", heights(SilenceGrace+2, 1, 2),
			nil, SilenceGrace + 2, []int{1, 2, 3}, map[int]uint64{3: 2}, false},
		{"never heard from: cannot tell withheld from cut off", map[uint64][]int{1: {1, 2}, 2: {1, 2}, 3: {1, 2}, 4: {1, 2}},
			nil, 4, []int{1, 2}, nil, false},
		{"fell behind, skipped heights, votes again", map[uint64][]int{1: {1, 2, 3}, 2: {1, 2}, 3: {1, 2}, 4: {1, 2, 3}, 5: {1, 2, 3}},
			nil, 5, []int{1, 2, 3}, nil, false},
		{"judgement waits for the grace", map[uint64][]int{1: {1, 2}, 2: {1, 2}}, nil, 2, []int{1, 2, 3}, nil, false},
		{"judgement waits for the ticks too (the relay holds a late vote up to a tick)",
			map[uint64][]int{1: {1, 2}, 2: {1, 2}, 3: {1, 2}, 4: {1, 2}}, nil, 4, []int{1, 2, 3}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBook(4, 0, 0)
			var ticks uint64
			for h := uint64(1); h <= c.decide; h++ {
				if !c.sameTick {
					ticks += SilenceGraceTicks
				}
				for _, m := range c.alive {
					b.NoteAlive(m, h)
				}
				for _, m := range c.voted[h] {
					b.ClearSilent(m, h) // as onVote does
				}
				b.NoteSilent(h, ticks, func(each func(int)) {
					for _, m := range c.voted[h] {
						each(m)
					}
				})
				for _, m := range c.late[h] {
					b.ClearSilent(m, h)
				}
			}
			for m := range 4 {
				if got, want := b.Count(m, Silent), c.wantNamed[m]; got != want {
					t.Errorf("member %d named silent %d times, want %d", m, got, want)
				}
			}
			if !c.sameTick && len(b.suspects) > SilenceGrace+1 {
				t.Errorf("%d heights of suspects kept", len(b.suspects))
			}
		})
	}
}

// heights has every member of voters vote at heights 1..k.
func heights(k int, voters ...int) map[uint64][]int {
	out := map[uint64][]int{}
	for h := 1; h <= k; h++ {
		out[uint64(h)] = voters
	}
	return out
}

// TestJudgeSilentByTime: the suspects of the last heights are judged by the clock alone (no later
// decision comes to trigger it).
func TestJudgeSilentByTime(t *testing.T) {
	b := newBook(4, 0, 0)
	b.NoteAlive(3, 1)
	b.NoteSilent(1, 10, func(each func(int)) { each(1); each(2) })
	const decided = 1 + SilenceGrace
	b.JudgeSilent(decided, 10+SilenceGraceTicks-1)
	if got := b.Count(3, Silent); got != 0 {
		t.Fatalf("named %d times before the ticks ran out", got)
	}
	b.JudgeSilent(decided, 10+SilenceGraceTicks)
	b.JudgeSilent(decided, 10+SilenceGraceTicks+7) // judged once: the suspicion is settled
	if got := b.Count(3, Silent); got != 1 {
		t.Fatalf("named %d times, want 1", got)
	}
	if got := b.HeardAbove(3); got != 2 {
		t.Fatalf("HeardAbove = %d, want 2", got)
	}
}

// TestStaleNeedsAge: a message for a height just decided is lateness; one for a height more than
// StaleGrace behind, or one beyond LateAllowance for a recent height, is named stale.
func TestStaleNeedsAge(t *testing.T) {
	cases := []struct {
		name        string
		height, cur uint64
		count       int
		want        uint64
	}{
		{"just decided", 19, 20, 3, 0},
		{"within grace", 20 - StaleGrace, 20, LateAllowance, 0},
		{"too many", 19, 20, LateAllowance + 3, 3},
		{"old", 20 - StaleGrace - 1, 20, 2, 2},
		{"very old", 0, 100, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBook(4, 0, c.cur)
			for range c.count {
				b.NoteStale(2, c.height, c.cur)
			}
			if got := b.Count(2, Stale); got != c.want {
				t.Errorf("named stale %d times, want %d", got, c.want)
			}
			if len(b.late) > 4*(StaleGrace+1) {
				t.Errorf("%d late keys kept", len(b.late))
			}
		})
	}
}
