package consensus

import (
	"fmt"
	"testing"
)

// BenchmarkCluster measures how many heights per second the in-memory cluster decides (every member
// decides each height), i.e. the machine's CPU cost per decision with all network simulation included.
// ticks/height is the simulated latency, independent of the machine's speed.
func BenchmarkCluster(b *testing.B) {
	for _, n := range []int{4, 20} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			c := newCluster(b, n, 1, reliable(), seededProposer(1, n), nil)
			b.ResetTimer()
			if !c.run(uint64(b.N), uint64(b.N)*1000) {
				b.Fatalf("did not decide %d heights: %v", b.N, c)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
			b.ReportMetric(float64(c.now)/float64(b.N), "ticks/height")
			b.ReportMetric(float64(c.delivered)/float64(b.N), "msgs/height")
		})
	}
}

// BenchmarkHeight is one machine's cost of a whole height at N = 20 without the network: the
// proposal, 19 prevotes and 19 precommits, and the decision.
func BenchmarkHeight(b *testing.B) {
	const n = 20
	m, err := New(testConfig(n-1, n), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h := uint64(i)
		if err := m.StartHeight(h); err != nil {
			b.Fatal(err)
		}
		v := val(byte(i%250 + 1))
		leader := m.cfg.Proposer(h, 0)
		if leader != n-1 {
			_ = m.StepProposal(prop(h, 0, -1, v, leader), true)
		} else {
			_ = m.Propose(h, 0, v)
		}
		for voter := range n - 1 {
			_ = m.StepVote(pv(h, 0, v, voter))
		}
		for voter := range n - 1 {
			_ = m.StepVote(pc(h, 0, v, voter))
		}
		rd := m.Ready()
		if len(rd.Decisions) != 1 {
			b.Fatalf("height %d: no decision", h)
		}
		m.Advance(rd)
	}
}
