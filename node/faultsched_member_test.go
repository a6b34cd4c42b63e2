package node

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Fault schedules that change the membership of an open run (see TestNodeFaultSchedules): every peer
// runs a Peer, one Node per epoch, on the in-memory network (runChurn); volunteers join, members
// leave, a member crashed for good is removed for silence, and the schedule's other faults (Byzantine
// members, crashes with lost or damaged records, a partitioned member, a late starter) happen around
// the changes. Besides the checks of the fixed-membership schedules, made per identity across epochs
// (member indices change with the member list), it checks the member history: every honest member
// ends with the same one; it holds only changes the schedule asked for (joins of volunteers or of
// removed members asking back in, leaves of leavers, removals of members that were down, cut off
// or Byzantine) and all of them (every volunteer in, every leaver and every gone member out).
func runMemberSchedule(t *testing.T, s nodeSchedule) {
	votes := &voteRecords{t: t}
	sent := map[[2]int]*int{} // (peer, incarnation) → votes sent
	plan := churnPlan{total: s.n + len(s.joins), members: s.n, rounds: int(s.rounds), silentRounds: s.silentRounds,
		maxMembers: s.n + len(s.joins), joinAt: s.joins, leaveAt: s.leaves, stopAt: s.gone, attacks: s.attacks,
		late: s.late, crashPause: time.Duration(s.pauseSec) * time.Second, beforeRestart: s.restartDamage(),
		// Rounds slow enough that a leave (requested every joinInterval) fits in the run; a stalled
		// run ends after a fake minute.
		sendDelay: 20 * time.Millisecond, deadline: time.Minute,
		install: func(r *churnRun, i, incarnation int, nd *Node) {
			if s.attacks[i] != "" {
				return
			}
			r.mu.Lock()
			k := [2]int{i, incarnation}
			if sent[k] == nil {
				sent[k] = new(int)
			}
			count := sent[k]
			r.mu.Unlock()
			installFaults(s, i, incarnation, nd, votes.of(i), count, r.isolate, true)
		}}
	r, _ := runChurn(t, plan)
	index := map[p2p.PeerID]int{}
	for i, h := range r.hosts {
		index[h.ID()] = i
	}
	honest := func(i int) bool { return s.attacks[i] == "" }
	var survivors []int // honest peers that must be members at the end and have decided every round
	for i := range plan.total {
		_, leaves := s.leaves[i]
		_, gone := s.gone[i]
		if honest(i) && !leaves && !gone {
			survivors = append(survivors, i)
		}
	}
	for _, i := range survivors {
		if st := r.peers[i].Status(); st.Round < s.rounds {
			t.Errorf("honest peer %d stopped at round %d (%s, member %d, %d peers connected), want ≥ %d",
				i, st.Round, st.Step, st.Member, st.Peers, s.rounds)
		}
	}
	agreed := 0
	for k := uint64(1); k <= s.rounds; k++ {
		ref, from := [32]byte{}, -1
		for i := range plan.total {
			d, ok := r.digests[i][k]
			if !honest(i) || !ok {
				continue
			}
			if from < 0 {
				ref, from = d, i
			} else if d != ref {
				t.Errorf("round %d: honest peers %d and %d committed different states %x / %x", k, from, i, ref[:6], d[:6])
			}
		}
		if from >= 0 {
			agreed++
		}
	}
	if agreed < int(s.rounds) {
		t.Errorf("only %d of %d rounds were committed by an honest peer", agreed, s.rounds)
	}
	checkMemberHistory(t, s, r, survivors, index)
	// No honest identity named for an offence it cannot commit, by any honest peer in any epoch.
	for i := range plan.total {
		if !honest(i) {
			continue
		}
		r.mu.Lock()
		nodes := slices.Clone(r.nodes[i])
		r.mu.Unlock()
		for _, nd := range nodes {
			for m, kinds := range nd.Status().Blame {
				culprit := index[nd.peers[m]]
				if !honest(culprit) {
					continue
				}
				for _, k := range innocentKinds {
					if kinds[k] > 0 {
						t.Errorf("honest peer %d (member %d from round %d) named for %s %d times by peer %d",
							culprit, m, nd.loop.firstRound, k, kinds[k], i)
					}
				}
			}
		}
	}
}

// checkMemberHistory: the survivors end with one member history, made of the changes the schedule
// asked for, all of them.
func checkMemberHistory(t *testing.T, s nodeSchedule, r *churnRun, survivors []int, index map[p2p.PeerID]int) {
	t.Helper()
	// Who may be removed for silence: members the schedule took down, cut off or made Byzantine.
	mayBeSilent := map[int]bool{s.stall: true}
	for _, m := range slices.Concat(slicesOfKeys(s.gone, s.crashAt), slicesOfKeys(s.late), slicesOfKeys(s.attacks), slicesOfKeys(s.crashVote)) {
		mayBeSilent[m] = true
	}
	// The survivors that are members at the end; one removed for silence may still be asking back in
	// when the run ends (a request signed before a later change is stale and is asked again later).
	var members []int
	for _, i := range survivors {
		nd := r.lastNode(i)
		switch {
		case nd != nil && nd.chain.Latest().Index(r.hosts[i].ID().String()) >= 0:
			members = append(members, i)
		case !mayBeSilent[i]:
			t.Errorf("honest peer %d, never down or cut off, is not a member at the end", i)
		}
	}
	if len(members) == 0 {
		t.Fatal("no honest member at the end")
	}
	ref := r.lastNode(members[0])
	want := ref.chain.Proofs()
	for _, i := range members[1:] {
		got := r.lastNode(i).chain.Proofs()
		if len(got) != len(want) {
			t.Errorf("honest members %d and %d end with %d and %d membership changes", members[0], i, len(want), len(got))
			continue
		}
		for j := range got {
			if got[j].Proposal.ValueID() != want[j].Proposal.ValueID() {
				t.Errorf("membership change %d: honest members %d and %d decided different ones", j, members[0], i)
			}
		}
	}
	removed := map[int]bool{}
	for _, p := range want {
		for _, o := range p.Proposal.Ops {
			id, err := p2p.PeerIDFromBytes(o.Peer)
			who, known := index[id]
			if err != nil || !known {
				t.Errorf("decided change at height %d concerns an unknown peer %s", p.Proposal.Height, id)
				continue
			}
			switch o.Kind {
			case wire.OpJoin:
				if _, volunteer := s.joins[who]; !volunteer && !removed[who] {
					t.Errorf("height %d: peer %d joined without asking", p.Proposal.Height, who)
				}
			case wire.OpLeave:
				if _, leaver := s.leaves[who]; !leaver {
					t.Errorf("height %d: peer %d left without asking", p.Proposal.Height, who)
				}
			case wire.OpRemove:
				if !mayBeSilent[who] {
					t.Errorf("height %d: honest peer %d, never down or cut off, removed for silence", p.Proposal.Height, who)
				}
				removed[who] = true
			}
		}
	}
	final := ref.chain.Latest()
	for v := range s.joins {
		if final.Index(r.hosts[v].ID().String()) < 0 {
			t.Errorf("volunteer %d is not a member at the end", v)
		}
	}
	for _, m := range slicesOfKeys(s.leaves, s.gone) {
		if final.Index(r.hosts[m].ID().String()) >= 0 {
			t.Errorf("peer %d (leaving or gone) is still a member at the end", m)
		}
	}
}

// slicesOfKeys lists the keys of the given maps, sorted.
func slicesOfKeys[V any](maps ...map[int]V) []int {
	var out []int
	for _, m := range maps {
		for k := range m {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// TestMembershipScheduleFindings replays the membership schedules that found honest members named
// or a request lost around a change of the member list (each failed in most runs before its fix):
// 0 (a next-epoch round message's signature checked against the old list), 12 (a restarted
// validator naming the leader that proposed its removal), 84 (relay frames sized for the next list),
// 46 (a leave queued at an epoch's last round lost with its Node).
func TestMembershipScheduleFindings(t *testing.T) {
	skipShort(t)
	if raceEnabled {
		t.Skip("TestNodeFaultSchedules covers membership under -race")
	}
	for _, seed := range []uint64{0, 12, 46, 84} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runNodeSchedule(t, drawNodeSchedule(seed)) })
		})
	}
}
