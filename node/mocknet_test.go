package node

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/p2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
)

// testGenesis returns spec.Members fresh member keys (testKeys) and a validated genesis naming them.
func testGenesis(tb testing.TB, name string, spec sim.Spec) ([]crypto.PrivKey, *genesis.Genesis) {
	tb.Helper()
	keys, ids := testKeys(tb, spec.Members)
	g := &genesis.Genesis{Version: genesis.Version, Name: name, Members: ids, Spec: spec, Timeouts: genesis.DefaultTimeouts()}
	if err := g.Validate(); err != nil {
		tb.Fatal(err)
	}
	return keys, g
}

// mockHosts starts one p2p.Host per key on a fresh mocknet, host i at /ip4/10.0.<subnet>.<i+1> (tests
// that build networks side by side use different subnets), then links and connects every pair.
// closeAll closes the hosts, last first, then the mocknet; callers defer it so the network is gone
// when they return. If setup fails, what was started is closed before tb fails.
func mockHosts(ctx context.Context, tb testing.TB, keys []crypto.PrivKey, subnet int, logger *slog.Logger) (hosts []*p2p.Host, closeAll func()) {
	tb.Helper()
	return mockHostsWith(ctx, tb, keys, subnet, p2p.Options{Logger: logger})
}

// mockHostsWith is mockHosts with the given host options (e.g. a send delay, so that a run takes
// fake time).
func mockHostsWith(ctx context.Context, tb testing.TB, keys []crypto.PrivKey, subnet int, opts p2p.Options) (hosts []*p2p.Host, closeAll func()) {
	tb.Helper()
	mn := mocknet.New()
	closeAll = func() {
		for _, h := range slices.Backward(hosts) {
			_ = h.Close()
		}
		_ = mn.Close()
	}
	started := false
	defer func() {
		if !started {
			closeAll()
		}
	}()
	for i, k := range keys {
		lh, err := mn.AddPeer(k, ma.StringCast(fmt.Sprintf("/ip4/10.0.%d.%d/tcp/4001", subnet, i+1)))
		if err != nil {
			tb.Fatal(err)
		}
		h, err := p2p.NewFromHost(ctx, lh, opts)
		if err != nil {
			tb.Fatal(err)
		}
		hosts = append(hosts, h)
	}
	if err := mn.LinkAll(); err != nil {
		tb.Fatal(err)
	}
	if err := mn.ConnectAllButSelf(); err != nil {
		tb.Fatal(err)
	}
	started = true
	return hosts, closeAll
}
