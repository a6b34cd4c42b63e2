package p2ptest

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	ma "github.com/multiformats/go-multiaddr"
)

// Key returns the deterministic Ed25519 key of test member i, so member identities (and peer IDs) are
// the same in every run.
func Key(i int) crypto.PrivKey {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(i))
	seed := sha256.Sum256(append([]byte("byzpp/p2ptest/key/"), buf[:]...))
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		panic(err) // a 64-byte ed25519 key always unmarshals
	}
	return k
}

// Network is a set of hosts on one mocknet.
type Network struct {
	Mocknet mocknet.Mocknet
	Hosts   []*p2p.Host
	Keys    []crypto.PrivKey
}

// Config tunes NewMockNetwork.
type Config struct {
	// Options are passed to every host (zero value: defaults, with a logger writing to t.Log at warn
	// level, and the test addresses, 10.0.0.0/8, exempt from the new-connection rate limit).
	Options p2p.Options
	// Unconnected leaves hosts linked but not connected (connect with Connect or ConnectAll).
	Unconnected bool
	// KeyOffset shifts the key indices, so two networks in one test get different identities.
	KeyOffset int
}

// NewMockNetwork builds n hosts with keys Key(0..n-1), links every pair, and connects them all to all.
func NewMockNetwork(t testing.TB, n int) *Network {
	t.Helper()
	return NewMockNetworkWith(t, n, Config{})
}

// NewMockNetworkWith is NewMockNetwork with a Config.
func NewMockNetworkWith(t testing.TB, n int, cfg Config) *Network {
	t.Helper()
	opts := cfg.Options
	if opts.Logger == nil {
		opts.Logger = TestLogger(t) // before the network's cleanup, so it still logs while closing
	}
	if opts.Abuse.ExemptNets == nil {
		// Every test host is in 10.0.0.0/8 (most in one /24): exempt it from the new-connection rate
		// limit, as loopback is for real testnets (the limit is off on mocknet hosts anyway unless
		// NewConnRate is set). Tests of the limit set their own list.
		opts.Abuse.ExemptNets = []string{"10.0.0.0/8", "127.0.0.0/8", "::1/128"}
	}
	net := &Network{Mocknet: mocknet.New()}
	t.Cleanup(func() { net.Close() })
	for i := range n {
		key := Key(cfg.KeyOffset + i)
		idx := cfg.KeyOffset + i
		// Distinct addresses, so gossipsub's IP-colocation penalty never applies between test peers.
		addr, err := ma.NewMultiaddr(fmt.Sprintf("/ip4/10.%d.%d.%d/tcp/4001", (idx>>16)&255, (idx>>8)&255, idx&255))
		if err != nil {
			t.Fatal(err)
		}
		lh, err := net.Mocknet.AddPeer(key, addr)
		if err != nil {
			t.Fatalf("p2ptest: adding host %d: %v", i, err)
		}
		hostOpts := opts
		hostOpts.Logger = opts.Logger.With("host", i)
		h, err := p2p.NewFromHost(context.Background(), lh, hostOpts)
		if err != nil {
			t.Fatalf("p2ptest: starting host %d: %v", i, err)
		}
		net.Hosts = append(net.Hosts, h)
		net.Keys = append(net.Keys, key)
	}
	if err := net.Mocknet.LinkAll(); err != nil {
		t.Fatal(err)
	}
	// Let every host's identify service take in the protocols its services just registered before
	// anyone connects (see Connect). In a synctest bubble this sleep returns once all of that is done.
	time.Sleep(100 * time.Millisecond)
	if !cfg.Unconnected {
		net.ConnectAll(t)
	}
	return net
}

// ConnectAll connects every pair of linked hosts that is not blocked.
func (n *Network) ConnectAll(t testing.TB) {
	t.Helper()
	for i, a := range n.Hosts {
		for _, b := range n.Hosts[i+1:] {
			if a.IsBlocked(b.ID()) || b.IsBlocked(a.ID()) || len(n.Mocknet.LinksBetweenPeers(a.ID(), b.ID())) == 0 {
				continue
			}
			n.Connect(t, a, b)
		}
	}
}

// Connect connects host a to host b and waits until each has identified the other as a gossipsub
// peer.
//
// The check guards against a race in libp2p's identify: a host answers identify requests from a
// snapshot of its protocols that is refreshed asynchronously after handlers are registered, and pushes
// updates only to peers connected at refresh time. A connection made in that window leaves the remote
// believing the host does not speak gossipsub, and the pair never exchanges gossip. NewMockNetwork
// waits the window out before connecting; should it still happen, Connect reconnects, which re-runs
// identify with the refreshed snapshot.
func (n *Network) Connect(t testing.TB, a, b *p2p.Host) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		c, err := n.Mocknet.ConnectPeers(a.ID(), b.ID())
		if err != nil {
			t.Fatalf("p2ptest: connecting %s to %s: %v", a.ID(), b.ID(), err)
		}
		if identified(a, b, c) && identified(b, a, nil) {
			return
		}
		if attempt == 10 {
			t.Fatalf("p2ptest: %s and %s do not see each other's gossipsub protocol", a.ID(), b.ID())
		}
		_ = n.Mocknet.DisconnectPeers(a.ID(), b.ID())
		time.Sleep(10 * time.Millisecond)
	}
}

// identified waits for a's identify exchange with b on conn c (or any connection if c is nil) and
// reports whether a now knows that b speaks gossipsub.
func identified(a, b *p2p.Host, c network.Conn) bool {
	lh := a.LibP2P()
	if c == nil {
		conns := lh.Network().ConnsToPeer(b.ID())
		if len(conns) == 0 {
			return false
		}
		c = conns[0]
	}
	if ider, ok := lh.(interface{ IDService() identify.IDService }); ok {
		select {
		case <-ider.IDService().IdentifyWait(c):
		case <-time.After(10 * time.Second):
			return false
		}
	}
	protos, err := lh.Peerstore().GetProtocols(b.ID())
	if err != nil {
		return false
	}
	return slices.ContainsFunc(protos, func(p protocol.ID) bool { return strings.HasPrefix(string(p), "/meshsub/") })
}

// Partition cuts every link between hosts in different groups (host indices) and closes their
// connections; hosts within a group stay connected. Hosts in no group are cut off from everyone.
//
// The connections are closed by blocking each cross pair on both sides for a moment rather than by a
// plain mocknet disconnect: mocknet closes the far end of a connection asynchronously, gossipsub
// reacts to the dead stream by reopening one on the half-closed connection, and mocknet then loses
// track of that stream, leaving gossipsub convinced the peer is still there. A blocked peer's streams
// are reset by gossipsub itself, which avoids this. The blocks are lifted before Partition returns.
func (n *Network) Partition(t testing.TB, groups ...[]int) {
	t.Helper()
	group := make([]int, len(n.Hosts))
	for i := range group {
		group[i] = -1 - i // alone
	}
	for g, members := range groups {
		for _, i := range members {
			group[i] = g
		}
	}
	type pair struct{ a, b *p2p.Host }
	var cut []pair
	for i, a := range n.Hosts {
		for j := i + 1; j < len(n.Hosts); j++ {
			if group[i] != group[j] {
				cut = append(cut, pair{a, n.Hosts[j]})
			}
		}
	}
	for _, p := range cut {
		if len(n.Mocknet.LinksBetweenPeers(p.a.ID(), p.b.ID())) > 0 {
			if err := n.Mocknet.UnlinkPeers(p.a.ID(), p.b.ID()); err != nil {
				t.Fatalf("p2ptest: unlinking: %v", err)
			}
		}
		p.a.BlockPeer(p.b.ID())
		p.b.BlockPeer(p.a.ID())
	}
	time.Sleep(100 * time.Millisecond) // let both sides reset whatever streams were in flight
	for _, p := range cut {
		_ = n.Mocknet.DisconnectPeers(p.a.ID(), p.b.ID())
		p.a.UnblockPeer(p.b.ID())
		p.b.UnblockPeer(p.a.ID())
	}
}

// Heal relinks every pair and reconnects them.
func (n *Network) Heal(t testing.TB) {
	t.Helper()
	if err := n.Mocknet.LinkAll(); err != nil {
		t.Fatal(err)
	}
	n.ConnectAll(t)
}

// IDs returns the hosts' peer IDs in host order.
func (n *Network) IDs() []peer.ID {
	out := make([]peer.ID, len(n.Hosts))
	for i, h := range n.Hosts {
		out[i] = h.ID()
	}
	return out
}

// Close shuts every host down, lets in-flight stream setup finish, then closes the hosts and the
// mocknet. Shutting all hosts down first matters: mocknet loses track of a stream opened while its
// connection is being torn down, and that stream's goroutines would then outlive the test. t.Cleanup
// calls Close; calling it earlier is fine.
func (n *Network) Close() {
	for _, h := range n.Hosts {
		h.Shutdown()
	}
	time.Sleep(100 * time.Millisecond)
	for _, h := range n.Hosts {
		_ = h.Close()
	}
	_ = n.Mocknet.Close()
}

// WaitForPeers waits until every topic knows at least min subscribed peers (enough for flood
// publishing to reach them), then one second more so gossipsub's heartbeat has grafted the mesh that
// relays messages onward (a message relayed before a mesh exists is never forwarded). It polls every
// 50ms and gives up when ctx ends. Inside a synctest bubble the wait costs no real time.
func WaitForPeers(ctx context.Context, topics []p2p.Topic, min int) error {
	for {
		ready := true
		for _, t := range topics {
			if len(t.Peers()) < min {
				ready = false
				break
			}
		}
		if ready {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("p2ptest: topics did not reach %d peers: %w", min, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Second):
		return nil
	}
}
