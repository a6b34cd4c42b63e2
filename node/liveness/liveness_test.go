package liveness

import "testing"

// TestPresumedDead: silence counts from the first member heard, a member never heard gets
// NeverHeardPatience times the wait, this peer is never dead, and anything heard revives a member.
func TestPresumedDead(t *testing.T) {
	v := New(3, 0, 10)
	if v.PresumedDead(1, 1000) {
		t.Fatal("presumed dead before anyone was heard")
	}
	v.Heard(1, 100)
	for _, c := range []struct {
		member int
		now    uint64
		dead   bool
	}{
		{0, 1000, false}, // self
		{1, 110, false},
		{1, 111, true},
		{2, 130, false}, // never heard: 3 × 10 ticks from the first member heard
		{2, 131, true},
		{-1, 500, false},
		{3, 500, false},
	} {
		if got := v.PresumedDead(c.member, c.now); got != c.dead {
			t.Errorf("member %d at tick %d: dead %v, want %v", c.member, c.now, got, c.dead)
		}
	}
	v.Heard(2, 200)
	if v.PresumedDead(2, 205) {
		t.Error("a member heard again is still presumed dead")
	}
}

// TestDistrust: a bad leader is distrusted as leader and as relay for DistrustHeights heights; a
// relay that moved nothing only as relay; this peer never.
func TestDistrust(t *testing.T) {
	v := New(4, 0, 10)
	v.Distrust(1, 50)
	v.DistrustRelay(2, 50)
	v.Distrust(0, 50)
	v.Distrust(7, 50)
	for _, c := range []struct {
		member        int
		h             uint64
		leader, relay bool
	}{
		{1, 50, true, true},
		{1, 50 + DistrustHeights - 1, true, true},
		{1, 50 + DistrustHeights, false, false},
		{2, 60, false, true},
		{2, 50 + DistrustHeights, false, false},
		{0, 50, false, false},
		{3, 50, false, false},
		{7, 50, false, false},
	} {
		if got := v.Distrusted(c.member, c.h); got != c.leader {
			t.Errorf("member %d at height %d: distrusted %v, want %v", c.member, c.h, got, c.leader)
		}
		if got := v.RelayDistrusted(c.member, c.h); got != c.relay {
			t.Errorf("member %d at height %d: relay distrusted %v, want %v", c.member, c.h, got, c.relay)
		}
	}
}
