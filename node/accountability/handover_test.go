package accountability

import "testing"

// TestHandovers: a message is handed once; it proves an omission only at a later attempt and a window
// after; omissions count distinct heights within the window; pruning forgets old heights' messages.
func TestHandovers(t *testing.T) {
	h := NewHandovers()
	d := [32]byte{1}
	if !h.Hand(2, d, 10, 0, 100) || h.Hand(2, d, 10, 1, 150) {
		t.Fatal("a message is handed exactly once")
	}
	for _, c := range []struct {
		leader  int
		attempt uint32
		now     uint64
		proof   bool
	}{
		{2, 0, 200, false}, // the same attempt repeats its proposal unchanged
		{2, 1, 109, false}, // less than a window after
		{2, 1, 110, true},
		{3, 1, 200, false}, // handed to another leader
	} {
		if got := h.HandedBefore(c.leader, d, c.attempt, c.now, 10); got != c.proof {
			t.Errorf("leader %d attempt %d tick %d: proof %v, want %v", c.leader, c.attempt, c.now, got, c.proof)
		}
	}
	for i, c := range []struct {
		height uint64
		want   int
	}{{5, 1}, {5, 1}, {7, 2}, {200, 1}, {250, 2}} {
		if got := h.Omitted(4, c.height, 100); got != c.want {
			t.Errorf("omission %d at height %d: %d heights within the window, want %d", i, c.height, got, c.want)
		}
	}
	h.Prune(11)
	if h.HandedBefore(2, d, 1, 200, 10) || !h.Hand(2, d, 11, 0, 300) {
		t.Error("a pruned handover is still remembered")
	}
}
