package node

import (
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/votestore"
)

// TestSilenceNeedsGrace: a member with no vote at a decided height is named silent only once
// silenceGrace more heights were decided without any vote of it for that height arriving.
func TestSilenceNeedsGrace(t *testing.T) {
	cases := []struct {
		name      string
		voted     map[uint64][]int // votes arrived (onVote) before each height is decided
		late      map[uint64][]int // votes for a height that arrive after it was decided
		decide    uint64           // heights 1..decide are decided
		alive     []int            // members whose round message for each height arrives
		wantNamed map[int]uint64
		sameTick  bool // every height is decided within one tick (a fast cluster, or fake time)
	}{
		{"everyone votes", map[uint64][]int{1: {1, 2, 3}, 2: {1, 2, 3}, 3: {1, 2, 3}}, nil, 3, []int{1, 2, 3}, nil, false},
		{"late voter cleared", map[uint64][]int{1: {1, 2}, 2: {1, 2}, 3: {1, 2}, 4: {1, 2}},
			map[uint64][]int{1: {3}, 2: {3}, 3: {3}, 4: {3}}, 4, []int{1, 2, 3}, nil, false},
		{"withholder named once per judged height", map[uint64][]int{1: {1, 2}, 2: {1, 2}, 3: {1, 2}, 4: {1, 2}},
			nil, 4, []int{1, 2, 3}, map[int]uint64{3: 2}, false},
		{"never heard from: cannot tell withheld from cut off", map[uint64][]int{1: {1, 2}, 2: {1, 2}, 3: {1, 2}, 4: {1, 2}},
			nil, 4, []int{1, 2}, nil, false},
		{"fell behind, skipped heights, votes again", map[uint64][]int{1: {1, 2, 3}, 2: {1, 2}, 3: {1, 2}, 4: {1, 2, 3}, 5: {1, 2, 3}},
			nil, 5, []int{1, 2, 3}, nil, false},
		{"judgement waits for the grace", map[uint64][]int{1: {1, 2}, 2: {1, 2}}, nil, 2, []int{1, 2, 3}, nil, false},
		{"judgement waits for the ticks too (the relay holds a late vote up to a tick)",
			map[uint64][]int{1: {1, 2}, 2: {1, 2}, 3: {1, 2}, 4: {1, 2}}, nil, 4, []int{1, 2, 3}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nd := &Node{n: 4, self: 0}
			nd.loop.votes = votestore.New(votestore.PerVoter)
			for h := uint64(1); h <= c.decide; h++ {
				if !c.sameTick {
					nd.loop.ticks += silenceGraceTicks
				}
				for _, m := range c.alive {
					nd.noteAlive(m, h)
				}
				for _, m := range c.voted[h] {
					nd.loop.votes.Put(consensus.Vote{Height: h, Voter: m}, nil, false)
					nd.clearSilent(m, h) // as onVote does
				}
				nd.noteSilent(h)
				for _, m := range c.late[h] {
					nd.clearSilent(m, h)
				}
				nd.loop.votes.PruneBelow(h + 1)
			}
			for m := range 4 {
				if got, want := nd.blames.counts[m][blameSilent], c.wantNamed[m]; got != want {
					t.Errorf("member %d named silent %d times, want %d", m, got, want)
				}
			}
			if !c.sameTick && len(nd.blames.suspects) > silenceGrace+1 {
				t.Errorf("%d heights of suspects kept", len(nd.blames.suspects))
			}
		})
	}
}

// TestStaleNeedsAge: a message for a height just decided is lateness; one for a height more than
// staleGrace behind, or one beyond lateAllowance for a recent height, is named stale.
func TestStaleNeedsAge(t *testing.T) {
	cases := []struct {
		name        string
		height, cur uint64
		count       int
		want        uint64
	}{
		{"just decided", 9, 10, 3, 0},
		{"within grace", 8, 10, lateAllowance, 0},
		{"too many", 9, 10, lateAllowance + 3, 3},
		{"old", 7, 10, 2, 2},
		{"very old", 0, 100, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nd := &Node{n: 4, self: 0}
			for range c.count {
				nd.noteStale(2, c.height, c.cur)
			}
			if got := nd.blames.counts[2][blameStale]; got != c.want {
				t.Errorf("named stale %d times, want %d", got, c.want)
			}
			if len(nd.blames.late) > 4*(staleGrace+1) {
				t.Errorf("%d late keys kept", len(nd.blames.late))
			}
		})
	}
}

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
