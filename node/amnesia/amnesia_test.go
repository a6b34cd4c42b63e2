package amnesia

import "testing"

// TestGuard: an off guard never abstains; a durable bound is the whole answer; without one the bound
// rises with what is heard until the first commit or adoption fixes it; the guard ends above the bound
// and still refuses heights at or below it after.
func TestGuard(t *testing.T) {
	var off Guard
	if off.Abstains(0) || off.Abstains(7) || off.Advance(3, 9) {
		t.Fatal("the zero Guard abstains")
	}

	var durable Guard
	durable.Start(5, true)
	durable.Raise(50) // heard far ahead: a durable bound does not move
	for h, want := range map[uint64]bool{4: true, 5: true, 6: false} {
		if durable.Abstains(h) != want {
			t.Errorf("durable bound 5, height %d: abstains %v", h, !want)
		}
	}
	if durable.Advance(5, 50) || !durable.Active() {
		t.Error("ended at height 5, its own bound")
	}
	if !durable.Advance(6, 50) || durable.Active() || durable.Through() != 5 {
		t.Errorf("not ended above the bound: active %v through %d", durable.Active(), durable.Through())
	}
	if !durable.Abstains(5) || durable.Abstains(6) {
		t.Error("after the end: must still refuse height 5 and sign 6")
	}

	var heard Guard
	heard.Start(0, false)
	if !heard.Unfixed() {
		t.Fatal("no sign bound: the bound must follow what is heard")
	}
	heard.Raise(8)
	heard.Raise(3)
	if heard.Through() != 8 || !heard.Abstains(8) || heard.Abstains(9) {
		t.Errorf("raised to 8 then 3: through %d", heard.Through())
	}
	if heard.Advance(9, 12) || heard.Unfixed() || heard.Through() != 12 {
		t.Errorf("the first commit fixes the bound at what was seen: through %d", heard.Through())
	}
	heard.Raise(40)
	if heard.Through() != 12 || !heard.Advance(13, 0) {
		t.Errorf("fixed bound moved to %d, or did not end above it", heard.Through())
	}
}

// TestHeights: the highest height per member only rises; out-of-range members are ignored.
func TestHeights(t *testing.T) {
	h := NewHeights(3)
	h.Note(0, 4)
	h.Note(1, 9)
	h.Note(1, 2)
	h.Note(-1, 100)
	h.Note(3, 100)
	if got := h.Highest(); got != 9 {
		t.Errorf("highest %d, want 9", got)
	}
}
