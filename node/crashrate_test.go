package node

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// crashRate runs n members, the given ones crashing for good at round crashAt (a dead laptop: its
// process gone, its connections left to time out), and returns the heights member 0 decided per
// second of the bubble's fake clock between round from and round to — protocol time, deterministic,
// not the machine's speed.
func crashRate(t *testing.T, n int, from, to uint64, crashed ...int) float64 {
	var rate float64
	synctest.Test(t, func(t *testing.T) {
		const crashAt = 5
		attacks, crashes := map[int]string{}, map[int]uint64{}
		for _, c := range crashed {
			attacks[c], crashes[c] = "none", crashAt // "none": honest code, left out of the checks
		}
		var mu sync.Mutex
		at := map[uint64]time.Time{}
		r := runNet(t, netPlan{spec: adversarialSpec(n, int(to)), rounds: to, attacks: attacks,
			crashAt: crashes, crashPause: time.Minute, // restarts only after the measured rounds
			install: func(i, _ int, nd *Node) {
				if i == 0 {
					nd.hooks.afterDecided = func(h uint64) error {
						mu.Lock()
						at[h] = time.Now()
						mu.Unlock()
						return nil
					}
				}
			}})
		r.checkHonest(t)
		rate = float64(to-from) / at[to-1].Sub(at[from-1]).Seconds()
	})
	return rate
}

// TestCrashTolerantRate: with f members crashed for good, the others go on at the pace of the live
// ones. On the in-memory network messages take no time, so a height costs protocol time only when
// someone waits out a timer: the test bounds that, at 20 decided heights per second of fake clock
// (before the presumption of death in presumed.go and the nil-precommit shortcut in
// consensus/rules.go: 0.9 at n = 4 with one member dead, every dead leader and every dead sampled
// member costing a timeout). Real-process figures are in the README (testnet up --crash).
func TestCrashTolerantRate(t *testing.T) {
	skipShort(t)
	for _, c := range []struct{ n, crashed int }{{4, 1}, {7, 2}} {
		t.Run(fmt.Sprintf("n=%d,crashed=%d", c.n, c.crashed), func(t *testing.T) {
			const from, to = 10, 60
			var crashed []int
			for i := range c.crashed {
				crashed = append(crashed, c.n-1-i)
			}
			rate := crashRate(t, c.n, from, to, crashed...)
			t.Logf("rounds %d–%d with %d of %d crashed: %.1f rounds/s of protocol time", from, to, c.crashed, c.n, rate)
			if rate < 20 {
				t.Errorf("with %d of %d crashed: %.1f rounds/s of protocol time, want ≥ 20", c.crashed, c.n, rate)
			}
		})
	}
}
