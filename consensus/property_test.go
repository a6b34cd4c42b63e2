package consensus

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// randomStrategy draws one of the Byzantine behaviours.
func randomStrategy(seed uint64, member int, k int) strategy {
	switch k {
	case 0:
		return silentMember{}
	case 1:
		return equivocatingLeader{}
	case 2:
		return invalidLeader{}
	case 3:
		return doubleVoter{}
	case 4:
		return newRandomVoter(seed, member)
	default:
		return newRoundSpammer(seed, member)
	}
}

// TestPropertyManySeeds runs many random systems — f Byzantine members with random behaviours (or one
// coordinated coalition), a lossy reordering network until a random GST, and sometimes an honest member
// crashing — and checks safety throughout (via the cluster's assertions) and liveness after GST.
func TestPropertyManySeeds(t *testing.T) {
	seeds := uint64(200)
	if testing.Short() {
		seeds = 30
	}
	// A longer search for rare failures: BYZPP_CONSENSUS_SEEDS=5000 go test -run PropertyManySeeds
	if v, err := strconv.ParseUint(os.Getenv("BYZPP_CONSENSUS_SEEDS"), 10, 32); err == nil {
		seeds = v
	}
	for _, n := range []int{4, 7, 10} {
		if n == 10 {
			seeds = max(seeds/10, 5) // larger committees are slower to simulate
		}
		for seed := range seeds {
			name := fmt.Sprintf("N=%d/seed=%d", n, seed)
			r := rng.New(seed, uint64(n), rng.Attack, 1000)
			f := (n - 1) / 3
			byz := make(map[int]strategy)
			var kinds []string
			members := rng.Sample(r, n, f)
			together := rng.Bernoulli(r, 0.2) // sometimes all of them form one coordinated coalition
			co := newCoalition(n, members)
			for _, b := range members {
				byz[b] = randomStrategy(seed, b, rng.IntN(r, 6))
				if together {
					byz[b] = co
				}
				kinds = append(kinds, fmt.Sprintf("%d:%s", b, byz[b].name()))
			}
			net := netConfig{
				minDelay: 1,
				maxDelay: 2 + uint64(rng.IntN(r, 4)),
				dropProb: 0.4 * rng.Float64(r),
				gst:      uint64(rng.IntN(r, 500)),
			}
			c := newCluster(t, n, seed, net, seededProposer(seed, n), byz)
			var victim *simNode
			if rng.Bernoulli(r, 0.5) {
				for _, node := range c.nodes {
					if node.honest() {
						victim = node
						break
					}
				}
			}
			crashAt := c.now + 5 + uint64(rng.IntN(r, 60))
			for c.now < crashAt {
				c.step()
			}
			if victim != nil {
				c.crash(victim, 5+uint64(rng.IntN(r, 40)))
			}
			if !c.run(6, 30000) {
				t.Fatalf("%s byz=%v net=%+v: liveness lost; %v", name, kinds, net, c)
			}
			if t.Failed() {
				t.Fatalf("%s byz=%v net=%+v: safety checks failed", name, kinds, net)
			}
		}
	}
}
