package p2p_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/p2ptest"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Real hosts on the loopback interface, outside any bubble: these exercise TCP, Noise, yamux, the
// connection gater, the resource manager and the bandwidth counter that mocknet skips. Timeouts are
// generous upper bounds, not speed expectations.

func newLoopbackHost(t *testing.T, i int, mutate func(*p2p.Config)) *p2p.Host {
	t.Helper()
	cfg := p2p.Config{
		Key:         p2ptest.Key(1000 + i),
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Options:     p2p.Options{Logger: p2ptest.TestLogger(t)},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := p2p.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Logf("close: %v", err)
		}
	})
	return h
}

func TestLoopbackBootstrapGossipRequest(t *testing.T) {
	a := newLoopbackHost(t, 0, nil)
	addrs := a.Addrs()
	if len(addrs) == 0 || !strings.HasSuffix(addrs[0], "/p2p/"+a.ID().String()) {
		t.Fatalf("Addrs() = %v", addrs)
	}
	b := newLoopbackHost(t, 1, func(c *p2p.Config) { c.Bootstrap = addrs })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if n, err := b.Bootstrap(ctx); err != nil || n != 1 {
		t.Fatalf("bootstrap: %d, %v", n, err)
	}
	if n, err := a.Bootstrap(ctx); err != nil || n != 0 {
		t.Fatalf("bootstrap without peers: %d, %v", n, err)
	}

	if err := a.Handle("echo/1", 1<<20, echo); err != nil {
		t.Fatal(err)
	}
	resp, err := b.Request(ctx, a.ID(), "echo/1", []byte("ping"), 100)
	if err != nil || string(resp) != "echo:ping" {
		t.Fatalf("request: %q, %v", resp, err)
	}

	ta, err := a.JoinTopic("test", numbered)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.JoinTopic("test", numbered)
	if err != nil {
		t.Fatal(err)
	}
	if err := p2ptest.WaitForPeers(ctx, []p2p.Topic{ta, tb}, 1); err != nil {
		t.Fatal(err)
	}
	if err := tb.Publish(ctx, []byte("msg-42")); err != nil {
		t.Fatal(err)
	}
	m, err := ta.NextMessage(ctx)
	if err != nil || m.Decoded.(int) != 42 || m.From != b.ID() || m.Local {
		t.Fatalf("gossip: %+v, %v", m, err)
	}

	// The bandwidth counter refreshes once a second.
	waitFor(ctx, t, "wire traffic to be counted", func() bool {
		tr := a.Traffic()
		return tr.WireIn > 0 && tr.WireOut > 0
	})

	// Blocking goes through the real connection gater: b cannot get back in.
	a.BlockPeer(b.ID())
	waitFor(ctx, t, "b to see the connection closed", func() bool {
		return b.LibP2P().Network().Connectedness(a.ID()) != network.Connected
	})
	_ = b.ConnectPeer(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.LibP2P().Addrs()}) // refused by a's gater
	if _, err := b.Request(ctx, a.ID(), "echo/1", []byte("x"), 100); err == nil {
		t.Fatal("blocked peer's request served")
	}
	if a.LibP2P().Network().Connectedness(b.ID()) == network.Connected {
		t.Fatal("gater let a blocked peer in")
	}
	a.UnblockPeer(b.ID())
	if err := b.Connect(ctx, addrs[0]); err != nil {
		t.Fatalf("reconnect after unblock: %v", err)
	}
}

func TestLoopbackBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_, err = p2p.New(t.Context(), p2p.Config{
		Key:         p2ptest.Key(1),
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/" + port},
	})
	if !errors.Is(err, p2p.ErrAddrInUse) || !strings.Contains(err.Error(), port) {
		t.Fatalf("got %v, want ErrAddrInUse naming port %s", err, port)
	}
}

func TestLoopbackBootstrapUnreachable(t *testing.T) {
	// A peer that is not listening: retries until the deadline, then ErrNoBootstrap.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	ghost := "/ip4/127.0.0.1/tcp/" + port + "/p2p/" + mustID(t, 77).String()
	h := newLoopbackHost(t, 5, func(c *p2p.Config) { c.Bootstrap = []string{ghost} })
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := h.Bootstrap(ctx); !errors.Is(err, p2p.ErrNoBootstrap) {
		t.Fatalf("got %v", err)
	}
}

func mustID(t *testing.T, i int) peer.ID {
	id, err := peer.IDFromPrivateKey(p2ptest.Key(i))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestLoopbackDHTDiscovery: b and c know only a; the DHT (routing-table refresh or the rendezvous
// lookup, whichever comes first) introduces them to each other.
func TestLoopbackDHTDiscovery(t *testing.T) {
	dht := func(c *p2p.Config) { c.EnableDHT = true; c.Rendezvous = "byzpp-test-run" }
	a := newLoopbackHost(t, 10, func(c *p2p.Config) { dht(c); c.DHTServer = true })
	boot := func(c *p2p.Config) { dht(c); c.DHTServer = true; c.Bootstrap = a.Addrs() }
	b := newLoopbackHost(t, 11, boot)
	c := newLoopbackHost(t, 12, boot)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, h := range []*p2p.Host{b, c} {
		if _, err := h.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(ctx, t, "b and c to find each other", func() bool {
		return b.LibP2P().Network().Connectedness(c.ID()) == network.Connected
	})
}

// waitFor polls cond every 50ms until it holds or ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestLoopbackMDNS: two hosts with mDNS on find each other on the local network. Sandboxes without
// multicast cannot run it.
func TestLoopbackMDNS(t *testing.T) {
	mdns := func(c *p2p.Config) {
		c.EnableMDNS = true
		c.Rendezvous = "byzpp-mdns-test"
		c.ListenAddrs = []string{"/ip4/0.0.0.0/tcp/0"}
	}
	var hosts []*p2p.Host
	for i := range 2 {
		cfg := p2p.Config{Key: p2ptest.Key(2000 + i), Options: p2p.Options{Logger: p2ptest.TestLogger(t)}}
		mdns(&cfg)
		h, err := p2p.New(t.Context(), cfg)
		if err != nil {
			t.Skipf("mDNS unavailable here: %v", err)
		}
		t.Cleanup(func() { _ = h.Close() })
		hosts = append(hosts, h)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for hosts[0].LibP2P().Network().Connectedness(hosts[1].ID()) != network.Connected {
		select {
		case <-ctx.Done():
			t.Skip("no mDNS discovery within 10s (no multicast on this machine?)")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestLoopbackManyPeersOneAddress: more peers than libp2p's per-IP limits and the new-connection burst
// connect to one host from 127.0.0.1 (loopback is exempt), as in a single-machine testnet.
func TestLoopbackManyPeersOneAddress(t *testing.T) {
	const n = 24
	hub := newLoopbackHost(t, 100, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for i := range n {
		h := newLoopbackHost(t, 101+i, nil)
		if err := h.Connect(ctx, hub.Addrs()[0]); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	waitFor(ctx, t, "every peer connected", func() bool { return len(hub.Peers()) == n })
}
