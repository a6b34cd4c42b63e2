package p2p_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/p2ptest"
	"github.com/libp2p/go-libp2p/core/peer"
)

// inbox collects direct messages by sender, in arrival order.
type inbox struct {
	mu   sync.Mutex
	msgs map[peer.ID][][]byte
}

func (b *inbox) handle(from peer.ID, msg []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.msgs == nil {
		b.msgs = map[peer.ID][][]byte{}
	}
	b.msgs[from] = append(b.msgs[from], msg)
}

func (b *inbox) from(p peer.ID) [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.msgs[p]
}

func TestDirectDeliversInOrderWithSender(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 3)
		net.ConnectAll(t)
		var boxes [3]inbox
		for i, h := range net.Hosts {
			if err := h.HandleDirect("d/1", 1<<20, boxes[i].handle); err != nil {
				t.Fatal(err)
			}
		}
		// A burst from two senders, including an empty and a large message.
		var want [][]byte
		for i := range 200 {
			want = append(want, []byte(fmt.Sprintf("m%03d", i)))
		}
		want = append(want, nil, bytes.Repeat([]byte{7}, 900_000))
		for _, s := range []int{0, 1} {
			for _, m := range want {
				if err := net.Hosts[s].Send(net.Hosts[2].ID(), "d/1", m); err != nil {
					t.Fatal(err)
				}
			}
		}
		synctest.Wait()
		for _, s := range []int{0, 1} {
			got := boxes[2].from(net.Hosts[s].ID())
			if len(got) != len(want) {
				t.Fatalf("from %d: %d messages, want %d", s, len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("from %d: message %d differs", s, i)
				}
			}
		}
		if n := len(boxes[0].from(net.Hosts[1].ID())) + len(boxes[1].from(net.Hosts[0].ID())); n != 0 {
			t.Fatalf("%d messages reached a peer they were not sent to", n)
		}
		tr := net.Hosts[0].Traffic()
		if tr.DirectOut != int64(200*4+900_000) || tr.DirectMsgsOut != 202 || net.Hosts[2].Traffic().DirectIn != 2*tr.DirectOut {
			t.Fatalf("traffic: sender %+v receiver %+v", tr, net.Hosts[2].Traffic())
		}
	})
}

func TestDirectRefusals(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 2)
		net.ConnectAll(t)
		a, b := net.Hosts[0], net.Hosts[1]
		var box inbox
		if err := b.HandleDirect("d/1", 16, box.handle); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			err  error
			do   func() error
		}{
			{"self", p2p.ErrConfig, func() error { return a.Send(a.ID(), "d/1", []byte("x")) }},
			{"absolute protocol", p2p.ErrConfig, func() error { return a.Send(b.ID(), "/d/1", []byte("x")) }},
			{"no cap", p2p.ErrConfig, func() error { return b.HandleDirect("e/1", 0, box.handle) }},
			{"no handler", p2p.ErrConfig, func() error { return b.HandleDirect("e/1", 10, nil) }},
		} {
			if err := tc.do(); !errors.Is(err, tc.err) {
				t.Errorf("%s: got %v, want %v", tc.name, err, tc.err)
			}
		}
		// An oversized frame breaks the stream; the sender reopens it for the next message.
		if err := a.Send(b.ID(), "d/1", make([]byte, 17)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := a.Send(b.ID(), "d/1", []byte("after")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		got := box.from(a.ID())
		if len(got) > 1 || (len(got) == 1 && string(got[0]) != "after") {
			t.Fatalf("received %q", got)
		}
		// A blocked peer can neither be sent to nor be heard.
		b.BlockPeer(a.ID())
		if err := b.Send(a.ID(), "d/1", []byte("x")); !errors.Is(err, p2p.ErrBlocked) {
			t.Fatalf("send to blocked peer: %v", err)
		}
		before := len(box.from(a.ID()))
		_ = a.Send(b.ID(), "d/1", []byte("blocked"))
		synctest.Wait()
		if len(box.from(a.ID())) != before {
			t.Fatal("message from a blocked peer delivered")
		}
	})
}

func TestDirectAfterClose(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 2)
		net.ConnectAll(t)
		a, b := net.Hosts[0], net.Hosts[1]
		var box inbox
		if err := b.HandleDirect("d/1", 1<<10, box.handle); err != nil {
			t.Fatal(err)
		}
		if err := a.Send(b.ID(), "d/1", []byte("x")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		a.Shutdown()
		if err := a.Send(b.ID(), "d/1", []byte("y")); !errors.Is(err, p2p.ErrClosed) {
			t.Fatalf("send after shutdown: %v", err)
		}
		if len(box.from(a.ID())) != 1 {
			t.Fatalf("received %d messages, want 1", len(box.from(a.ID())))
		}
	})
}

func TestDirectWaitsForTheProtocol(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 2)
		net.ConnectAll(t)
		a, b := net.Hosts[0], net.Hosts[1]
		// Sent before b serves the protocol (a peer still starting): held back, not lost.
		for _, m := range []string{"early", "second"} {
			if err := a.Send(b.ID(), "d/1", []byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(300 * time.Millisecond)
		var box inbox
		if err := b.HandleDirect("d/1", 1<<10, box.handle); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		got := box.from(a.ID())
		if len(got) != 2 || string(got[0]) != "early" || string(got[1]) != "second" {
			t.Fatalf("received %q, want both messages in order", got)
		}
	})
}
