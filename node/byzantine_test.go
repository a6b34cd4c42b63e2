package node

import (
	"github.com/byzpp/byzpp/node/byzantine"
	"testing"
	"testing/synctest"
)

// TestByzantinePeer runs 3 honest peers and one Byzantine peer (member 3): the honest peers must keep
// agreeing on every round and reach round 15.
func TestByzantinePeer(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on four in-memory peers")
	}
	for _, atk := range []string{byzantine.AttackWrongDigest, byzantine.AttackMute} {
		t.Run(atk, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				spec := smallSpec(0, "none")
				const rounds = 15
				c := runCluster(t, spec, map[int]string{3: atk}, rounds)
				for i := range 3 {
					if r := c.nodes[i].Status().Round; r < rounds {
						t.Fatalf("honest member %d stopped at round %d", i, r)
					}
				}
				for r := uint64(1); r <= rounds; r++ {
					want, ok := c.digests[0][r]
					for i := 1; i < 3; i++ {
						if got, ok2 := c.digests[i][r]; ok && ok2 && got != want {
							t.Errorf("round %d: members 0 and %d disagree", r, i)
						}
					}
				}
				if atk == byzantine.AttackWrongDigest {
					bad := uint64(0)
					for i := range 3 {
						bad += c.nodes[i].Status().BadProposals
					}
					// Seed 1 makes member 3 lead several attempts in these rounds.
					if bad == 0 {
						t.Error("no honest peer rejected a wrong-digest proposal")
					}
					t.Logf("honest peers rejected %d wrong-digest proposals", bad)
				}
			})
		})
	}
}
