package byzantine

import (
	"slices"

	"github.com/byzpp/byzpp/node/engine"
)

// LeaderChoice returns the inclusion list and state digest this peer proposes for candidate c: a
// doctored one for a Byzantine leader, c's own otherwise.
func (b *byzantine) LeaderChoice(c *engine.Candidate) ([]engine.Inclusion, engine.Digest) {
	inc, sd := c.Included, c.StateDigest
	switch {
	case b.atk.censor:
		kept := slices.DeleteFunc(slices.Clone(inc), func(in engine.Inclusion) bool {
			return in.Member != b.env.Self() && !b.env.Byzantine(in.Member)
		})
		if d, ok := b.env.DigestOf(kept, -1); ok {
			// A self-consistent proposal: only the omission itself is wrong.
			return kept, d
		}
		return kept, sd
	case b.atk.badAgg:
		// Same inclusions, the aggregate of a different set of vectors (the last one negated).
		if d, ok := b.env.DigestOf(inc, len(inc)-1); ok && d != sd {
			return inc, d
		}
		sd[0] ^= 0xff
	case b.atk.wrongDigest:
		sd[0] ^= 0xff
	}
	return inc, sd
}
