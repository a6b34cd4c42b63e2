package p2ptest_test

import (
	"testing"
	"testing/synctest"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/p2ptest"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestKeysAreDeterministicEd25519(t *testing.T) {
	seen := map[peer.ID]bool{}
	for i := range 50 {
		k := p2ptest.Key(i)
		if !k.Equals(p2ptest.Key(i)) {
			t.Fatal("Key is not deterministic")
		}
		id, err := peer.IDFromPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p2p.PubKeyFromID(id); err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatal("two members share a key")
		}
		seen[id] = true
	}
}

func TestNetworkShape(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 6)
		ids := net.IDs()
		for i, h := range net.Hosts {
			want, _ := peer.IDFromPrivateKey(p2ptest.Key(i))
			if h.ID() != want || ids[i] != want {
				t.Fatalf("host %d has ID %s, want %s", i, h.ID(), want)
			}
			if got := len(h.Peers()); got != 5 {
				t.Fatalf("host %d has %d peers", i, got)
			}
		}
		net.Partition(t, []int{0, 1, 2}, []int{3, 4})
		conn := func(i, j int) bool {
			return net.Hosts[i].LibP2P().Network().Connectedness(net.Hosts[j].ID()) == network.Connected
		}
		if !conn(0, 2) || !conn(3, 4) || conn(0, 3) || conn(5, 4) || conn(2, 5) {
			t.Fatal("partition did not cut exactly the cross-group pairs")
		}
		for i, h := range net.Hosts {
			if len(h.Gater().Blocked()) != 0 {
				t.Fatalf("host %d still blocks %v after Partition", i, h.Gater().Blocked())
			}
		}
		net.Heal(t)
		for i := range net.Hosts {
			for j := range net.Hosts {
				if i != j && !conn(i, j) {
					t.Fatalf("%d-%d not reconnected after Heal", i, j)
				}
			}
		}
	})
}

func TestUnconnectedAndOffset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := p2ptest.NewMockNetworkWith(t, 3, p2ptest.Config{Unconnected: true, KeyOffset: 10})
		want, _ := peer.IDFromPrivateKey(p2ptest.Key(10))
		if net.Hosts[0].ID() != want {
			t.Fatal("KeyOffset ignored")
		}
		if len(net.Hosts[0].Peers()) != 0 {
			t.Fatal("Unconnected network has connections")
		}
		net.Connect(t, net.Hosts[0], net.Hosts[2])
		if len(net.Hosts[2].Peers()) != 1 {
			t.Fatal("Connect did not connect")
		}
	})
}
