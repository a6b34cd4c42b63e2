package node

import (
	"context"
	"fmt"
	"github.com/byzpp/byzpp/node/byzantine"
	"log/slog"
	"slices"
	"testing"
	"testing/synctest"

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

// mockHosts starts one p2p.Host per key on a fresh libp2p mocknet (for the tests of libp2p behaviour
// and the benchmark; the others run on memnet, see memHosts), host i at /ip4/10.0.<subnet>.<i+1> (tests
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

// TestLibp2pGraylistsForger runs the forger of TestAdversaryInvalidMessages on libp2p's mocknet, where
// the verdicts feed gossipsub's own peer scoring (memnet only models it): the honest members keep
// training and agree, and gossipsub graylists the forger but no honest member. Skipped under -race
// (see raceEnabled).
func TestLibp2pGraylistsForger(t *testing.T) {
	skipShort(t)
	synctest.Test(t, func(t *testing.T) {
		r := runNet(t, netPlan{libp2p: true, spec: adversarialSpec(4, 20), attacks: map[int]string{3: byzantine.AttackInvalid}, rounds: 20})
		r.checkHonest(t)
		graylisted := 0
		for i := range 3 {
			if s, ok := r.scores[i][3]; ok && s < p2p.GraylistThreshold {
				graylisted++
			}
			for j := range 3 {
				if s := r.scores[i][j]; j != i && s < 0 {
					t.Errorf("member %d scores honest member %d at %.1f", i, j, s)
				}
			}
		}
		if graylisted == 0 {
			t.Errorf("gossipsub graylisted the forger at no honest member; its scores: %v", []float64{r.scores[0][3], r.scores[1][3], r.scores[2][3]})
		}
	})
}
