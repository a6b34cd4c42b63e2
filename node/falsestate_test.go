package node

import (
	"context"
	"errors"
	"github.com/byzpp/byzpp/node/byzantine"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/p2p/wire"
)

// TestLaggardRefusesFalseState: member 1 takes part in consensus honestly but answers every state
// request with a lie (node/byzantine/attack_falsestate.go). Member 3 starts after the others have finished, so it can
// only catch up by asking for a certified state; its first probe goes to member 1 (catchup.go rotates
// from self+2). It must refuse the lie (counted in Status.StatesRejected), ask the next member and end
// on the honest digest. Each honest member also asks member 1 directly and must get ErrBadState with
// the reason of that lie.
func TestLaggardRefusesFalseState(t *testing.T) {
	skipShort(t)
	const rounds, liar, laggard = 8, 1, 3
	cases := []struct {
		attack string
		reason func(error) bool
	}{
		{byzantine.AttackFalseStateDigest, containsErr("state digest mismatch")},
		{byzantine.AttackFalseStateQuorum, isErr(wire.ErrQuorum)},
		{byzantine.AttackFalseStateBadSig, isErr(wire.ErrSignature)},
		{byzantine.AttackFalseStateOtherHeight, isErr(wire.ErrSignature)},
		{byzantine.AttackFalseStateOlder, isErr(wire.ErrSignature)},
	}
	for _, c := range cases {
		t.Run(c.attack, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rejectedBeforeProbe uint64
				r := runNet(t, netPlan{spec: adversarialSpec(4, rounds), rounds: rounds,
					attacks: map[int]string{liar: c.attack},
					late:    map[int]time.Duration{laggard: 2 * time.Minute},
					probe: func(r *netRun) {
						rejectedBeforeProbe = r.nodes[laggard].Status().StatesRejected
						for i, nd := range r.nodes {
							if !r.honest(i) {
								continue
							}
							_, err := nd.stateFrom(context.Background(), nd.peers[liar], 0)
							if !errors.Is(err, ErrBadState) || !c.reason(err) {
								t.Errorf("member %d asking the liar: %v, want ErrBadState for %s", i, err, c.attack)
							}
						}
					}})
				r.checkHonest(t)
				if first := firstCommit(r, laggard); first <= 1 {
					t.Fatalf("the laggard's first commit is round %d: it should have adopted a certified state", first)
				}
				if rejectedBeforeProbe == 0 {
					t.Error("the laggard never refused a state: it was not asked to judge the liar's")
				}
				want := r.nodes[0].Status()
				if got := r.nodes[laggard].Status(); got.Round != want.Round || got.Digest != want.Digest {
					t.Errorf("laggard ends at round %d digest %.12s, member 0 at %d %.12s", got.Round, got.Digest, want.Round, want.Digest)
				}
				t.Logf("laggard refused %d states, adopted round %d", rejectedBeforeProbe, firstCommit(r, laggard))
			})
		})
	}
}

func firstCommit(r *netRun, i int) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := uint64(1 << 62)
	for round := range r.digests[i] {
		first = min(first, round)
	}
	return first
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func containsErr(s string) func(error) bool {
	return func(err error) bool { return err != nil && strings.Contains(err.Error(), s) }
}
