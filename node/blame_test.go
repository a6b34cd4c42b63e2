package node

import (
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/byzpp/byzpp/node/accountability"
)

// The blame kinds the cluster tests look for (package accountability owns them).
const (
	blameBadProposal = accountability.BadProposal
	blameCensor      = accountability.Censor
	blameEquivocate  = accountability.Equivocate
	blameSilent      = accountability.Silent
	blameStale       = accountability.Stale
	blameFuture      = accountability.Future
	blameInvalid     = accountability.Invalid
	blameFlood       = accountability.Flood
)

// TestHonestClusterBlamesNobody: in an all-honest in-memory run no member names any other for
// anything, timing kinds included (members slower than the quorum are late, not offenders).
func TestHonestClusterBlamesNobody(t *testing.T) {
	skipShort(t)
	for _, n := range []int{4, 10} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				spec := smallSpec(0, "none")
				spec.Members = n
				spec.Participation = 4 / float64(n)
				spec.Rounds = 20
				c := runCluster(t, spec, nil, uint64(spec.Rounds))
				for i, nd := range c.nodes {
					st := nd.Status()
					if st.Round < uint64(spec.Rounds) {
						t.Fatalf("member %d stopped at round %d", i, st.Round)
					}
					for m, kinds := range st.Blame {
						for kind, count := range kinds {
							if count != 0 {
								t.Errorf("member %d named honest member %d for %s %d times", i, m, kind, count)
							}
						}
					}
				}
			})
		})
	}
}
