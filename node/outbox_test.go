package node

import (
	"slices"
	"testing"
)

// TestOutboxGroupsByMember: frames sent during a turn wait in the outbox grouped by member, in send
// order, and flushOutbox hands them all over and empties it.
func TestOutboxGroupsByMember(t *testing.T) {
	nd := relayNodes(t)[0]
	nd.sendTo(2, []byte("a"))
	nd.sendTo(1, []byte("b"))
	nd.sendTo(2, []byte("c"))
	nd.broadcast([]byte("d"))
	o := &nd.outbox
	if !slices.Equal(o.dirty, []int{2, 1, 3}) {
		t.Fatalf("members in first-send order: %v, want [2 1 3]", o.dirty)
	}
	var got []string
	for _, f := range o.frames[2] {
		got = append(got, string(f))
	}
	if !slices.Equal(got, []string{"a", "c", "d"}) {
		t.Fatalf("frames for member 2: %v, want a c d", got)
	}
	if len(o.frames[0]) != 0 {
		t.Fatal("a frame for ourselves")
	}
	nd.flushOutbox()
	for j, fs := range o.frames {
		if len(fs) != 0 {
			t.Fatalf("member %d still has %d frames after the flush", j, len(fs))
		}
	}
	if len(o.dirty) != 0 {
		t.Fatal("members still marked after the flush")
	}
}
