package consensus

import (
	"fmt"
	"testing"
)

// Scenario tests. Checklist drawn from go-ibft's core tests (byzantine_test.go, drop_test.go), mapped
// to Tendermint: "malicious hash in proposal" → TestClusterInvalidValueLeader; "malicious hash in
// prepare/commit" → TestClusterDoubleVoters, TestClusterRandomByzantine; "+1 round in proposal / round
// change" → TestClusterRoundSpam and the ErrNotProposer cases of TestMalformedMessages; "drop MaxFaulty"
// → TestClusterSilentMembers; "drop MaxFaulty+1 then restart" → TestClusterTooManyCrashedThenRecover.
// Beyond it: equivocating and silent leaders, a coordinated split-brain coalition, lossy networks,
// partitions, lagging members and crash-restarts.
//
// Every scenario asserts, through the cluster's checks, safety (no two honest members
// decide differently at a height), validity (decided values were proposed and are valid), that honest
// members never sign conflicting messages nor send before persisting, and that evidence only ever
// accuses Byzantine members; and each asserts liveness (every honest member decides target heights).

func reliable() netConfig { return netConfig{minDelay: 1, maxDelay: 3} }

// mustReach runs the cluster until target heights are decided, failing with its state otherwise.
func mustReach(t *testing.T, c *cluster, target, maxTicks uint64) {
	t.Helper()
	if !c.run(target, maxTicks) {
		t.Fatalf("liveness: not every honest member reached height %d in %d ticks; %v", target, maxTicks, c)
	}
	for h := range target {
		if _, ok := c.decided[h]; !ok {
			t.Fatalf("height %d has no recorded decision", h)
		}
	}
}

func TestClusterAllHonest(t *testing.T) {
	for _, n := range []int{4, 10, 20} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			c := newCluster(t, n, 1, reliable(), seededProposer(1, n), nil)
			mustReach(t, c, 8, 2000)
			// With a reliable network and honest leaders every height is decided in its first attempt
			// (the leader may time out only if its value arrives after timeoutPropose, which the
			// delays here never cause).
			for _, node := range c.nodes {
				if cert, ok := node.certs[5]; !ok || cert.Round != 0 {
					t.Fatalf("member %d: height 5 decided in attempt %d, want 0", node.id, cert.Round)
				}
			}
		})
	}
}

func TestClusterSilentLeader(t *testing.T) {
	// Member 0 leads attempt 0 of heights 0, 4, 8 and attempt 1 of heights 3, 7…: those attempts time out.
	c := newCluster(t, 4, 2, reliable(), rrProposer(4), map[int]strategy{0: silentMember{}})
	mustReach(t, c, 10, 4000)
	if c.nodes[1].certs[0].Round == 0 {
		t.Fatal("height 0 decided in the silent leader's attempt")
	}
}

func TestClusterSilentMembers(t *testing.T) {
	// f members silent: the others still form quorums (go-ibft TestDropMaxFaulty).
	c := newCluster(t, 7, 3, reliable(), seededProposer(3, 7), map[int]strategy{2: silentMember{}, 5: silentMember{}})
	mustReach(t, c, 8, 6000)
}

func TestClusterTooManyCrashedThenRecover(t *testing.T) {
	// f+1 of 4 members down: no quorum, nothing decided (and nothing unsafe); once they return, progress
	// resumes (go-ibft TestDropMaxFaultyPlusOne).
	c := newCluster(t, 4, 4, reliable(), seededProposer(4, 4), nil)
	mustReach(t, c, 3, 1000)
	c.crash(c.nodes[1], 300)
	c.crash(c.nodes[2], 300)
	h := c.nodes[0].height
	for range 250 {
		c.step()
	}
	if c.nodes[0].height > h+1 || c.nodes[3].height > h+1 {
		t.Fatalf("progress without a quorum: heights %d and %d from %d", c.nodes[0].height, c.nodes[3].height, h)
	}
	mustReach(t, c, h+5, 3000)
	if c.nodes[1].restarts != 1 || c.nodes[2].restarts != 1 {
		t.Fatal("crashed members did not restart")
	}
}

// byzLeaderFirst makes member b lead the first attempt of every height, round-robin afterwards.
func byzLeaderFirst(b, n int) func(uint64, uint32) int {
	return func(h uint64, r uint32) int {
		if r == 0 {
			return b
		}
		return int((h + uint64(r)) % uint64(n))
	}
}

func TestClusterEquivocatingLeader(t *testing.T) {
	for _, n := range []int{4, 7} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			for seed := uint64(0); seed < 10; seed++ {
				c := newCluster(t, n, seed, reliable(), byzLeaderFirst(0, n), map[int]strategy{0: equivocatingLeader{}})
				mustReach(t, c, 6, 6000)
			}
		})
	}
}

func TestClusterInvalidValueLeader(t *testing.T) {
	c := newCluster(t, 4, 5, reliable(), byzLeaderFirst(1, 4), map[int]strategy{1: invalidLeader{}})
	mustReach(t, c, 6, 6000)
	for h, v := range c.decided {
		if !isValid(v) {
			t.Fatalf("height %d decided the invalid value %s", h, v)
		}
	}
}

func TestClusterDoubleVoters(t *testing.T) {
	byz := map[int]strategy{1: doubleVoter{}, 4: doubleVoter{}}
	c := newCluster(t, 7, 6, reliable(), seededProposer(6, 7), byz)
	mustReach(t, c, 6, 6000)
	for b := range byz {
		if c.evidence[b] == 0 {
			t.Fatalf("no honest member reported member %d's equivocation", b)
		}
	}
}

func TestClusterRandomByzantine(t *testing.T) {
	for seed := uint64(0); seed < 10; seed++ {
		byz := map[int]strategy{0: newRandomVoter(seed, 0), 3: newRandomVoter(seed, 3)}
		c := newCluster(t, 7, seed, reliable(), seededProposer(seed, 7), byz)
		mustReach(t, c, 5, 8000)
	}
}

func TestClusterRoundSpam(t *testing.T) {
	byz := map[int]strategy{2: newRoundSpammer(7, 2), 6: newRoundSpammer(7, 6)}
	c := newCluster(t, 7, 7, reliable(), seededProposer(7, 7), byz)
	mustReach(t, c, 6, 6000)
	for _, node := range c.nodes {
		if !node.honest() || node.m == nil {
			continue
		}
		if r := node.m.Status().Round; r > 3 {
			t.Fatalf("member %d dragged to attempt %d by f spammers", node.id, r)
		}
		if k := len(node.m.hlog.rounds); k > 4+2*farRoundsPerSender {
			t.Fatalf("member %d holds %d attempts", node.id, k)
		}
		for s, buf := range node.m.future {
			if len(buf) > node.m.cfg.FutureBufferPerSender {
				t.Fatalf("member %d buffers %d messages of %d", node.id, len(buf), s)
			}
		}
	}
}

func TestClusterMessageLoss(t *testing.T) {
	t.Run("lossy until GST", func(t *testing.T) {
		net := netConfig{minDelay: 1, maxDelay: 4, dropProb: 0.5, gst: 600}
		c := newCluster(t, 4, 8, net, seededProposer(8, 4), nil)
		mustReach(t, c, 8, 6000)
	})
	t.Run("lossy forever, rebroadcast carries it", func(t *testing.T) {
		net := netConfig{minDelay: 1, maxDelay: 4, dropProb: 0.3, gst: 1 << 62}
		c := newCluster(t, 7, 9, net, seededProposer(9, 7), nil)
		mustReach(t, c, 6, 10000)
	})
}

func TestClusterPartitionHeals(t *testing.T) {
	// Two halves of 4 members (no quorum on either side) until tick 500, then whole.
	split := func(now uint64, from, to int) bool { return now < 500 && (from < 2) != (to < 2) }
	c := newCluster(t, 4, 10, netConfig{minDelay: 1, maxDelay: 3, cut: split}, seededProposer(10, 4), nil)
	for range 450 {
		c.step()
	}
	if len(c.decided) != 0 {
		t.Fatalf("decided during a partition without quorum: %v", c.decided)
	}
	mustReach(t, c, 5, 5000)
}

func TestClusterLaggingMember(t *testing.T) {
	t.Run("a few heights behind: future messages buffered and replayed", func(t *testing.T) {
		// Member 3 is cut off until the others have decided two heights. It then receives messages
		// of heights ahead of its own (buffered), adopts the missed decisions from certificates and
		// replays what it buffered.
		healed := false
		isolate := func(_ uint64, from, to int) bool { return !healed && (from == 3 || to == 3) }
		c := newCluster(t, 4, 11, netConfig{minDelay: 1, maxDelay: 3, cut: isolate}, seededProposer(11, 4), nil)
		for c.nodes[0].height < 2 && c.now < 2000 {
			c.step()
		}
		if c.nodes[3].height != 0 || c.nodes[0].height != 2 {
			t.Fatalf("setup: heights %d (lagging) and %d", c.nodes[3].height, c.nodes[0].height)
		}
		healed = true
		mustReach(t, c, 8, 4000)
		if c.buffered[3] == 0 {
			t.Fatal("the lagging member never buffered a future-height message")
		}
	})
	t.Run("far behind: catch-up from certificates", func(t *testing.T) {
		isolate := func(now uint64, from, to int) bool { return now < 600 && (from == 3 || to == 3) }
		c := newCluster(t, 4, 12, netConfig{minDelay: 1, maxDelay: 3, cut: isolate}, seededProposer(12, 4), nil)
		for range 600 {
			c.step()
		}
		if c.nodes[3].height != 0 || c.nodes[0].height < 2*c.nodes[0].cfg.MaxFutureHeights {
			t.Fatalf("setup: heights %d (lagging) and %d", c.nodes[3].height, c.nodes[0].height)
		}
		mustReach(t, c, c.nodes[0].height+5, 6000)
	})
}

func TestClusterCrashRestart(t *testing.T) {
	for _, mid := range []bool{false, true} {
		for seed := uint64(0); seed < 8; seed++ {
			t.Run(fmt.Sprintf("midReady=%v/seed=%d", mid, seed), func(t *testing.T) {
				c := newCluster(t, 4, 20+seed, reliable(), seededProposer(20+seed, 4), nil)
				// Crash member (seed mod 4) a few ticks into a height, several times.
				victim := c.nodes[seed%4]
				for k := range 3 {
					for range 5 + int(seed) + 7*k {
						c.step()
					}
					if mid {
						victim.crashMidReady = c.now + 1
						for victim.m != nil {
							c.step()
						}
					} else {
						c.crash(victim, 10+seed)
					}
					for victim.m == nil {
						c.step()
					}
				}
				mustReach(t, c, 8, 6000)
				if victim.restarts != 3 {
					t.Fatalf("victim restarted %d times, want 3", victim.restarts)
				}
			})
		}
	}
}

func TestClusterEveryoneRestarts(t *testing.T) {
	// All members crash at once mid-height and come back at different times: persisted locks and votes
	// must carry them to a decision without anyone double-signing.
	c := newCluster(t, 4, 30, reliable(), seededProposer(30, 4), nil)
	mustReach(t, c, 2, 1000)
	for range 4 {
		c.step()
	}
	for i, node := range c.nodes {
		c.crash(node, uint64(5+10*i))
	}
	mustReach(t, c, 6, 6000)
}

// TestClusterSplitBrainCoalition runs the coordinated coalition attack with a coalition member leading
// the first attempt and a member of Y the second, so that X locks (and one of X decides) on A while Y
// is offered a fresh value next.
func TestClusterSplitBrainCoalition(t *testing.T) {
	for _, n := range []int{4, 7, 10} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			f := (n - 1) / 3
			var byz []int
			for b := range f {
				byz = append(byz, b)
			}
			co := newCoalition(n, byz)
			var y int
			for i := range n {
				if !co.member[i] && !co.inX[i] {
					y = i
					break
				}
			}
			for seed := uint64(0); seed < 20; seed++ {
				co = newCoalition(n, byz)
				strategies := make(map[int]strategy)
				for _, b := range byz {
					strategies[b] = co
				}
				fallback := seededProposer(seed, n)
				leaders := func(h uint64, r uint32) int {
					switch r {
					case 0:
						return byz[int(h)%f]
					case 1:
						return y
					}
					return fallback(h, r)
				}
				c := newCluster(t, n, seed, reliable(), leaders, strategies)
				c.statusEvery = 97 // slow catch-up, so that attempt 1 runs before X's decision spreads
				mustReach(t, c, 5, 10000)
			}
		})
	}
}
