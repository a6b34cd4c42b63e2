package node

import (
	"context"
	"crypto/rand"
	"fmt"
	"github.com/byzpp/byzpp/p2p"
	"log/slog"
	"math"
	"os"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// smallSpec is the brief's test run: a9a, 4 members, half sampled, a full round every 10.
func smallSpec(byz int, atk string) sim.Spec {
	s := sim.Default()
	s.Members, s.Byzantine, s.Attack = 4, byz, atk
	s.Participation, s.Schedule, s.Rounds, s.EvalEvery = 0.5, 10, 30, 5
	return s
}

// testKeys returns n Ed25519 keys sorted by peer ID (member i holds keys[i]).
func testKeys(t testing.TB, n int) ([]crypto.PrivKey, []string) {
	t.Helper()
	type kid struct {
		k  crypto.PrivKey
		id string
	}
	var ks []kid
	for range n {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := peer.IDFromPrivateKey(k)
		ks = append(ks, kid{k, id.String()})
	}
	slices.SortFunc(ks, func(a, b kid) int {
		if a.id < b.id {
			return -1
		}
		if a.id > b.id {
			return 1
		}
		return 0
	})
	var keys []crypto.PrivKey
	var ids []string
	for _, x := range ks {
		keys = append(keys, x.k)
		ids = append(ids, x.id)
	}
	return keys, ids
}

// simDigests is the reference: the state digest after every round of sim.Runner.
func simDigests(t testing.TB, spec sim.Spec) map[uint64][32]byte {
	t.Helper()
	setup, err := sim.Build(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := sim.NewRunner(setup, math.NaN())
	st := method.NewState(setup.X0)
	out := map[uint64][32]byte{}
	for range spec.Rounds {
		next, _, err := method.Step(&setup.Method, spec.Seed, st, r.RoundMessages(st))
		if err != nil {
			t.Fatal(err)
		}
		st = next
		out[st.Round] = st.Digest()
	}
	return out
}

// cluster is n nodes on a mocknet.
type cluster struct {
	nodes   []*Node
	mu      sync.Mutex
	digests []map[uint64][32]byte
}

func (c *cluster) record(i int) func(uint64, [32]byte) {
	return func(r uint64, d [32]byte) {
		c.mu.Lock()
		c.digests[i][r] = d
		c.mu.Unlock()
	}
}

// runCluster runs the spec on an in-memory network (p2p/memnet) with the given attack per member until every honest member
// decided `rounds` rounds (or the fake-clock deadline passes), and returns the cluster.
func runCluster(t *testing.T, spec sim.Spec, attacks map[int]string, rounds uint64) *cluster {
	t.Helper()
	keys, g := testGenesis(t, "test", spec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c := &cluster{}
	hosts, closeHosts := memHosts(t, keys, p2p.Options{Logger: logger})
	defer closeHosts()
	for i, k := range keys {
		c.digests = append(c.digests, map[uint64][32]byte{})
		nd, err := New(Config{Genesis: g, Key: k, Host: hosts[i], Attack: attacks[i], Logger: logger, OnCommit: c.record(i)})
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, nd)
	}
	time.Sleep(2 * time.Second) // as on libp2p, where gossipsub builds its mesh
	var wg sync.WaitGroup
	for _, nd := range c.nodes {
		wg.Go(func() {
			if err := nd.Run(ctx); err != nil {
				t.Errorf("member %d: %v", nd.self, err)
			}
		})
	}
	deadline := time.Now().Add(time.Duration(rounds) * 30 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		done := true
		for i, nd := range c.nodes {
			if attacks[i] == "" && nd.Status().Round < rounds {
				done = false
			}
		}
		if done {
			break
		}
	}
	cancel()
	wg.Wait()
	return c
}

// TestHonestClusterMatchesSim: 4, 10 and 20 honest in-memory peers hold the same state digest after
// every decided round, and it is the digest sim.Runner computes for the same spec and seed.
func TestHonestClusterMatchesSim(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 30 rounds on 4, 10 and 20 in-memory peers")
	}
	for _, n := range []int{4, 10, 20} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				spec := smallSpec(0, "none")
				spec.Members = n
				spec.Participation = 4 / float64(n)
				c := runCluster(t, spec, nil, uint64(spec.Rounds))
				ref := simDigests(t, spec)
				for i, nd := range c.nodes {
					st := nd.Status()
					if st.Round < uint64(spec.Rounds) {
						t.Fatalf("member %d stopped at round %d", i, st.Round)
					}
					for r := uint64(1); r <= uint64(spec.Rounds); r++ {
						got, ok := c.digests[i][r]
						if !ok {
							t.Errorf("member %d never committed round %d", i, r)
							continue
						}
						if want := ref[r]; got != want {
							t.Errorf("member %d, round %d: digest %x, sim %x", i, r, got[:6], want[:6])
						}
					}
				}
				// With the relay on, sampled members send their next message ahead of the decision
				// (speculate.go), and in an honest run every guess is the value decided.
				var speculated, misses, bundles uint64
				for _, nd := range c.nodes {
					st := nd.Status()
					speculated, misses, bundles = speculated+st.Speculated, misses+st.SpeculationMisses, bundles+st.RelayRoundBundlesOut
				}
				t.Logf("%d messages sent ahead, %d overtaken, %d round bundles", speculated, misses, bundles)
				if n >= relayMinMembers && (speculated < uint64(spec.Rounds) || misses != 0 || bundles == 0) {
					t.Errorf("speculation: %d messages sent ahead in %d rounds, %d overtaken, %d round bundles", speculated, spec.Rounds, misses, bundles)
				}
			})
		})
	}
}
