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

// TestLearningAttacker runs a member that crafts its round messages with a learning-level attack
// (node/byzantine's OwnRound, Craft and RoundAhead): one that reads the honest messages (alie) crafts
// once they arrive and never sends ahead; one that does not (lf) crafts ahead of the decision like an
// honest member. Either way the honest members agree and finish, and the crafted messages change the
// trained state (an attacker that sent nothing or its honest message would leave the honest run's).
func TestLearningAttacker(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on four in-memory peers")
	}
	const rounds, n = 10, relayMinMembers // enough members to relay votes, so to send messages ahead
	spec := adversarialSpec(n, rounds)
	final := func(attack string) ([32]byte, Status) {
		var (
			d  [32]byte
			st Status
		)
		synctest.Test(t, func(t *testing.T) {
			c := runCluster(t, spec, map[int]string{n - 1: attack}, rounds)
			for i := range n - 1 {
				if r := c.nodes[i].Status().Round; r < rounds {
					t.Fatalf("%s: honest member %d stopped at round %d", attack, i, r)
				}
				if c.digests[i][rounds] != c.digests[0][rounds] {
					t.Fatalf("%s: members 0 and %d disagree at round %d", attack, i, rounds)
				}
			}
			d, st = c.digests[0][rounds], c.nodes[n-1].Status()
		})
		return d, st
	}
	honest, _ := final("")
	for _, atk := range []string{"alie", "lf"} {
		d, st := final(atk)
		if d == honest {
			t.Errorf("%s: the trained state is the honest run's: no crafted message was used", atk)
		}
		if ahead := st.Speculated > 0; ahead != (atk == "lf") {
			t.Errorf("%s: %d messages sent ahead of the decision", atk, st.Speculated)
		}
	}
}
