package p2p_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/p2ptest"
	"github.com/libp2p/go-libp2p/core/network"
)

func TestBlockPeer(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 3)
		a, b, c := net.Hosts[0], net.Hosts[1], net.Hosts[2]
		topics := joinAll(t, net.Hosts, numbered)
		for _, h := range net.Hosts {
			if err := h.Handle("echo/1", 100, echo); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := p2ptest.WaitForPeers(ctx, topics, 2); err != nil {
			t.Fatal(err)
		}

		a.BlockPeer(b.ID())
		if !a.IsBlocked(b.ID()) || len(a.Gater().Blocked()) != 1 {
			t.Fatal("not recorded as blocked")
		}
		synctest.Wait()
		if a.LibP2P().Network().Connectedness(b.ID()) == network.Connected {
			t.Fatal("still connected to a blocked peer")
		}
		if _, err := a.Request(ctx, b.ID(), "echo/1", nil, 100); !errors.Is(err, p2p.ErrBlocked) {
			t.Fatalf("request to blocked peer: %v", err)
		}
		if err := a.ConnectPeer(ctx, b.LibP2P().Peerstore().PeerInfo(b.ID())); !errors.Is(err, p2p.ErrBlocked) {
			t.Fatalf("connect to blocked peer: %v", err)
		}
		// b reconnects on its own: the connection is closed again and b's gossip does not reach a.
		net.Connect(t, b, c)
		if _, err := net.Mocknet.ConnectPeers(b.ID(), a.ID()); err == nil {
			synctest.Wait()
			if a.LibP2P().Network().Connectedness(b.ID()) == network.Connected {
				t.Fatal("blocked peer's new connection kept")
			}
		}
		if _, err := b.Request(ctx, a.ID(), "echo/1", nil, 100); err == nil {
			t.Fatal("blocked peer's request served")
		}
		if err := topics[1].Publish(ctx, []byte("msg-1")); err != nil {
			t.Fatal(err)
		}
		// c gets it; a gets it only through c (gossip relays), never from b directly.
		m, err := topics[2].NextMessage(ctx)
		if err != nil || m.Decoded.(int) != 1 {
			t.Fatalf("c: %v %v", m, err)
		}
		m, err = topics[0].NextMessage(ctx)
		if err != nil || m.From == b.ID() {
			t.Fatalf("a: from %v, %v", m.From, err)
		}

		a.UnblockPeer(b.ID())
		if a.IsBlocked(b.ID()) {
			t.Fatal("still blocked")
		}
		net.Connect(t, a, b)
		if _, err := a.Request(ctx, b.ID(), "echo/1", []byte("x"), 100); err != nil {
			t.Fatalf("after unblock: %v", err)
		}
	})
}

func TestPartitionAndHeal(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 4)
		topics := joinAll(t, net.Hosts, numbered)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := p2ptest.WaitForPeers(ctx, topics, 3); err != nil {
			t.Fatal(err)
		}
		net.Partition(t, []int{0, 1}, []int{2, 3})
		synctest.Wait()
		if err := topics[0].Publish(ctx, []byte("msg-7")); err != nil {
			t.Fatal(err)
		}
		if m, err := topics[1].NextMessage(ctx); err != nil || m.Decoded.(int) != 7 {
			t.Fatalf("same side: %v %v", m, err)
		}
		short, stop := context.WithTimeout(ctx, 10*time.Second)
		if _, err := topics[2].NextMessage(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("message crossed the partition: %v", err)
		}
		stop()
		net.Heal(t)
		if err := p2ptest.WaitForPeers(ctx, topics, 3); err != nil {
			t.Fatal(err)
		}
		if err := topics[3].Publish(ctx, []byte("msg-8")); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 1, 2} {
			for {
				m, err := topics[i].NextMessage(ctx)
				if err != nil {
					t.Fatalf("host %d after heal: %v", i, err)
				}
				if m.Decoded.(int) == 8 {
					break
				}
			}
		}
	})
}

func TestCloseIsIdempotentAndFinal(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 2)
		h := net.Hosts[0]
		tp, err := h.JoinTopic("t", acceptAll)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := h.JoinTopic("u", acceptAll); !errors.Is(err, p2p.ErrClosed) {
			t.Fatalf("join after close: %v", err)
		}
		if _, err := tp.NextMessage(context.Background()); err == nil {
			t.Fatal("next on a closed host's topic")
		}
	})
}
