package node

import (
	"slices"

	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/node/engine"
)

// collectDone reports whether a leader has waited long enough to propose: an honest one proposes once
// the sample is complete or CollectTicks have passed since consensus asked for a value. A censor
// always waits one and a half windows, so that the honest messages it leaves out look merely late to
// a careless validator (honest validators refuse exactly this, see censor.go).
func (nd *Node) collectDone() bool {
	waited := nd.loop.ticks - nd.loop.needTick
	window := uint64(nd.gen.Timeouts.CollectTicks)
	if nd.atk.censor {
		return waited >= window+window/2
	}
	return nd.sampleHeldOrDead() || waited >= window // presumed.go: no wait for the dead
}

// leaderChoice returns the inclusion list and state digest this peer proposes for candidate c: c's
// own for an honest leader, a doctored one for a Byzantine leader.
func (nd *Node) leaderChoice(c *engine.Candidate) ([]engine.Inclusion, engine.Digest) {
	inc, sd := c.Included, c.StateDigest
	switch {
	case nd.atk.censor:
		kept := slices.DeleteFunc(slices.Clone(inc), func(in engine.Inclusion) bool {
			return in.Member != nd.self && !nd.setup.Byzantine[in.Member]
		})
		if d, ok := nd.digestOf(kept, -1); ok {
			// A self-consistent proposal: only the omission itself is wrong.
			return kept, d
		}
		return kept, sd
	case nd.atk.badAgg:
		// Same inclusions, the aggregate of a different set of vectors (the last one negated).
		if d, ok := nd.digestOf(inc, len(inc)-1); ok && d != sd {
			return inc, d
		}
		sd[0] ^= 0xff
	case nd.atk.wrongDigest:
		sd[0] ^= 0xff
	}
	return inc, sd
}

// digestOf derives the state digest that the included messages lead to, with the vector at index
// negate (if ≥ 0) negated first. It reports false when the messages are not all held or the step fails.
func (nd *Node) digestOf(inc []engine.Inclusion, negate int) (engine.Digest, bool) {
	msgs := make([]method.Message, len(inc))
	for i, in := range inc {
		s, ok := nd.eng.Lookup(in.Digest)
		if !ok {
			return engine.Digest{}, false
		}
		msgs[i] = s.Msg
		if i == negate {
			v := s.Msg.Vec
			neg := compress.Vector{Dim: v.Dim, Index: v.Index, Values: make([]float64, len(v.Values))}
			for j, x := range v.Values {
				neg.Values[j] = -x
			}
			msgs[i].Vec = neg
		}
	}
	next, _, err := method.Step(&nd.setup.Method, nd.gen.Spec.Seed, nd.eng.State(), msgs)
	if err != nil {
		return engine.Digest{}, false
	}
	return next.Digest(), true
}
