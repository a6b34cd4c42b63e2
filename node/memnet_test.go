package node

import (
	"context"
	"testing"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/memnet"
)

// memHosts starts one in-memory host (package p2p/memnet) per key and connects every pair. closeAll
// closes them, last first; callers defer it so the network is gone when they return. Node's tests run
// on these unless they test libp2p itself (see mockHosts): memnet runs under the race detector and
// inside synctest bubbles without the stream goroutines mocknet leaves behind.
func memHosts(tb testing.TB, keys []p2p.PrivKey, opts p2p.Options) (hosts []p2p.Network, closeAll func()) {
	tb.Helper()
	mn := memnet.New(opts)
	for _, k := range keys {
		h, err := mn.AddHost(k)
		if err != nil {
			mn.Close()
			tb.Fatal(err)
		}
		hosts = append(hosts, h)
	}
	mn.ConnectAll()
	return hosts, mn.Close
}

// testHosts starts the network a test runs on: memnet, or libp2p's mocknet (on the given subnet)
// when libp2p is set.
func testHosts(ctx context.Context, tb testing.TB, keys []p2p.PrivKey, subnet int, opts p2p.Options, libp2p bool) ([]p2p.Network, func()) {
	tb.Helper()
	if !libp2p {
		return memHosts(tb, keys, opts)
	}
	mock, closeAll := mockHostsWith(ctx, tb, keys, subnet, opts)
	hosts := make([]p2p.Network, len(mock))
	for i, h := range mock {
		hosts[i] = h
	}
	return hosts, closeAll
}
