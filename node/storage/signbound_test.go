package storage

import "testing"

// TestSignBound: the bound is raised, durably, before a height above it is signed, by a stride, and
// read back by a restart.
func TestSignBound(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	if _, ok := s.LoadSignBound(); ok {
		t.Fatal("a bound in an empty StateDir")
	}
	for _, h := range []uint64{0, 5, 31, 32, 33, 100} {
		if err := s.CoverSigning(h); err != nil {
			t.Fatal(err)
		}
		got, ok := Open(dir).LoadSignBound() // as a restart reads it
		if !ok || got < h {
			t.Fatalf("after signing at %d the durable bound is %d (%v)", h, got, ok)
		}
	}
	if got, _ := Open(dir).LoadSignBound(); got != 100+signBoundStride {
		t.Fatalf("bound %d, want %d", got, 100+signBoundStride)
	}
}
