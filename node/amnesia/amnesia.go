package amnesia

import "sync/atomic"

// Guard is the bound below which an amnesiac peer must not sign. The zero Guard is off: it never
// abstains.
type Guard struct {
	active  bool
	frozen  bool   // the bound is fixed (a durable sign bound, or the first commit or adoption)
	through uint64 // highest height at which it must not sign
}

// Start turns the guard on (the peer may have forgotten votes). bound is the persisted sign bound
// (ok false: unreadable or absent), which, when known, is the whole answer.
func (g *Guard) Start(bound uint64, ok bool) {
	g.active = true
	if ok {
		g.through, g.frozen = bound, true
	}
}

// Active reports whether the peer still abstains up to the bound; Through is the bound.
func (g *Guard) Active() bool    { return g.active }
func (g *Guard) Through() uint64 { return g.through }

// Unfixed reports whether the bound still rises with what the peer hears (Raise): the guard is on
// and no durable sign bound, commit or adoption has fixed it.
func (g *Guard) Unfixed() bool { return g.active && !g.frozen }

// Raise lifts an unfixed bound to seen, the highest height this peer has heard of or is at.
func (g *Guard) Raise(seen uint64) {
	if g.Unfixed() {
		g.through = max(g.through, seen)
	}
}

// Abstains reports whether one of this peer's consensus messages for height h must not leave (or be
// signed). After the guard is off, output consensus produced before may still be pending for a
// height at or below the bound (a proposal refused just before an adoption): never sign there either.
func (g *Guard) Abstains(h uint64) bool {
	if !g.active {
		return g.through > 0 && h <= g.through
	}
	return h <= g.through
}

// Advance fixes the bound at the first commit or adoption, once raised to seen (Raise), before the
// peer moves to height k, and turns the guard off once k is above the bound; it reports whether it
// just did.
func (g *Guard) Advance(k, seen uint64) bool {
	if !g.active {
		return false
	}
	g.Raise(seen)
	g.frozen = true
	if k > g.through {
		g.active = false
		return true
	}
	return false
}

// Heights is, per member, the highest height of an authenticated consensus or round message heard
// from it, whether or not inside this peer's window. Written by validators and stream handlers on any
// goroutine, read by the event loop.
type Heights struct{ by []atomic.Uint64 }

// NewHeights returns the record of n members.
func NewHeights(n int) Heights { return Heights{by: make([]atomic.Uint64, n)} }

// Note records that member was heard at height.
func (h *Heights) Note(member int, height uint64) {
	if member < 0 || member >= len(h.by) {
		return
	}
	a := &h.by[member]
	for {
		old := a.Load()
		if height <= old || a.CompareAndSwap(old, height) {
			return
		}
	}
}

// Highest is the highest height heard from any member.
func (h *Heights) Highest() uint64 {
	var m uint64
	for i := range h.by {
		m = max(m, h.by[i].Load())
	}
	return m
}
