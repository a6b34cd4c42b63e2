package node

import (
	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/node/engine"
)

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
