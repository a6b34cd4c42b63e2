package node

import (
	"flag"
	"fmt"
	"github.com/byzpp/byzpp/node/byzantine"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/accountability"
	"github.com/byzpp/byzpp/node/storage"
	"github.com/byzpp/byzpp/p2p"
)

// Randomized fault schedules on whole nodes (the consensus checker, consensus/faultsched_test.go,
// drives bare state machines; this one runs the real Node — engine, relay, persistence, amnesia,
// accountability — on the in-memory network). Each seed draws a committee, up to f Byzantine members
// with protocol attacks, and, within what is left of the fault budget, honest members that crash at a
// random height and restart on their StateDir — as it was, or as a machine crash leaves it (the
// unsynced tail lost, in another boot), or with a damaged journal — and members that start late.
// Checks: every honest member decides every height, honest members agree at every height, no honest
// member signs two different votes for one (height, attempt, type) across its incarnations, and no
// honest member is named for an offence it cannot have committed (equivocation, bad proposals,
// censorship, invalid or flooding input). Half the schedules also change the membership of an open run
// (faultsched_member_test.go): volunteers join, members leave, a member crashed for good is removed
// for silence, each through decided changes, with the same faults around them.
//
//	go test ./node/ -run TestNodeFaultSchedules                          # short form
//	go test ./node/ -run TestNodeFaultSchedules -node.schedules=240      # long form (-node.first=N: other seeds)
//	go test ./node/ -run TestNodeFaultSchedules -node.seed=N -v          # replay one seed
var (
	nodeSchedules = flag.Int("node.schedules", 0, "fault schedules TestNodeFaultSchedules runs (0: 12, 6 under -race, 2 with -short)")
	nodeSeed      = flag.Int64("node.seed", -1, "replay this one node fault schedule")
	nodeFirst     = flag.Uint64("node.first", 0, "first seed of the schedules TestNodeFaultSchedules runs")
	nodeLogLevel  = flag.String("node.log", "", "log level of the replayed schedule's nodes (debug, info, warn; default: errors only)")
)

var scheduleAttacks = []string{byzantine.AttackEquivocate, byzantine.AttackDoubleVote, byzantine.AttackBadAgg, byzantine.AttackCensor, byzantine.AttackWithhold,
	byzantine.AttackBadSigVotes, byzantine.AttackVoteFlood, byzantine.AttackMute, byzantine.AttackSpam, byzantine.AttackTamperRelay, byzantine.AttackDropRelay, byzantine.AttackInvalid}

// nodeSchedule is one drawn schedule, printable for replay.
type nodeSchedule struct {
	seed    uint64
	n       int
	attacks map[int]string
	crashAt map[int]uint64
	// crashVote crashes a member right after it sent that many votes (mid-height, the height's votes
	// out, possibly forgotten after a machine crash) instead of after a decided height.
	crashVote map[int]int
	// stall is an honest member cut off from everyone (a partition) from the moment a member crashes
	// mid-height until after that member restarts, so that the height cannot be decided without the
	// restarted member: it must not contradict the votes it sent before (−1: none).
	stall    int
	damage   string // "", "lost-tail", "damaged"
	lost     int    // records a lost tail loses
	late     map[int]time.Duration
	rounds   uint64
	pauseSec int
	// Membership changes (an open run, every peer a Peer across epochs): volunteers n, n+1, … start
	// once the run reached joins[v] and ask to join; members ask to leave at leaves[m]; members crash
	// for good at gone[m] and are removed after silentRounds heights of silence.
	joins        map[int]uint64
	leaves       map[int]uint64
	gone         map[int]uint64
	silentRounds int
}

// open reports whether the schedule changes the membership.
func (s nodeSchedule) open() bool { return len(s.joins)+len(s.leaves)+len(s.gone) > 0 }

func (s nodeSchedule) String() string {
	var changes string
	if s.open() {
		changes = fmt.Sprintf(" joins=%v leaves=%v gone=%v silentRounds=%d", s.joins, s.leaves, s.gone, s.silentRounds)
	}
	return fmt.Sprintf("seed %d: n=%d attacks=%v crashAt=%v crashVote=%v stall=%d damage=%q lost=%d pause=%ds late=%v%s rounds=%d (replay: go test ./node/ -run TestNodeFaultSchedules -node.seed=%d -v)",
		s.seed, s.n, s.attacks, s.crashAt, s.crashVote, s.stall, s.damage, s.lost, s.pauseSec, s.late, changes, s.rounds, s.seed)
}

func drawNodeSchedule(seed uint64) nodeSchedule {
	rng := rand.New(rand.NewPCG(seed, 0x6e6f6465))
	s := nodeSchedule{seed: seed, n: []int{4, 5, 7}[rng.IntN(3)], attacks: map[int]string{},
		crashAt: map[int]uint64{}, crashVote: map[int]int{}, stall: -1, late: map[int]time.Duration{}, rounds: 24,
		joins: map[int]uint64{}, leaves: map[int]uint64{}, gone: map[int]uint64{}}
	// Membership changes come from their own stream, so that the schedules without them are the
	// ones the seeds drew before membership was added.
	mrng := rand.New(rand.NewPCG(seed, 0x6d656d62))
	f := (s.n - 1) / 3
	leaves, gone := 0, 0
	if mrng.IntN(2) == 0 {
		leaves, gone = drawMembershipChanges(mrng, &s)
		// Faults (Byzantine, crashing, gone) must stay within f of every epoch: the smallest
		// epoch has the leavers and the removed gone; the gone count until they are removed.
		f = (s.n-leaves-gone-1)/3 - gone
	}
	members := rng.Perm(s.n)
	byz := rng.IntN(f + 1)
	for _, m := range members[:byz] {
		s.attacks[m] = scheduleAttacks[rng.IntN(len(scheduleAttacks))]
	}
	rest := members[byz:]
	for _, m := range rest[:f-byz] { // the rest of the fault budget: crashes
		if rng.IntN(2) == 0 {
			s.crashAt[m] = uint64(3 + rng.IntN(12))
		} else {
			s.crashVote[m] = 4 + rng.IntN(40)
		}
	}
	if len(s.crashAt)+len(s.crashVote) > 0 {
		s.damage = []string{"", "lost-tail", "damaged"}[rng.IntN(3)]
		s.lost = 1 + rng.IntN(12)
		s.pauseSec = 1 + rng.IntN(3)
	}
	if len(s.crashVote) > 0 && len(rest) > f-byz && rng.IntN(2) == 0 {
		s.stall = rest[f-byz] // honest, not crashing
	}
	if rng.IntN(3) == 0 { // a late starter among the others (slow, not faulty)
		m := rest[len(rest)-1]
		if _, crashing := s.crashAt[m]; !crashing {
			s.late[m] = time.Duration(1+rng.IntN(4)) * time.Second
		}
	}
	// Leavers and the gone: honest members with no other part in the schedule.
	var free []int
	for _, m := range rest[f-byz:] {
		if _, late := s.late[m]; !late && m != s.stall {
			free = append(free, m)
		}
	}
	for k := range leaves + gone {
		if k >= len(free) {
			break
		}
		if k < leaves {
			s.leaves[free[k]] = uint64(3 + mrng.IntN(16))
		} else {
			s.gone[free[k]] = uint64(3 + mrng.IntN(10))
		}
	}
	return s
}

// drawMembershipChanges draws how many volunteers join (and when), how many members leave and how
// many crash for good (to be removed for silence); at least one change. It returns the number of
// leavers and of gone members to choose.
func drawMembershipChanges(rng *rand.Rand, s *nodeSchedule) (leaves, gone int) {
	s.rounds = 30
	s.silentRounds = 6
	for {
		joins := rng.IntN(3)
		leaves, gone = rng.IntN(2), rng.IntN(2)
		if (s.n-leaves-gone-1)/3-gone < 0 {
			continue
		}
		if joins+leaves+gone == 0 {
			continue
		}
		for v := range joins {
			s.joins[s.n+v] = uint64(3 + rng.IntN(14))
		}
		return leaves, gone
	}
}

// innocentKinds are offences an honest member cannot commit, crashed or slow.
var innocentKinds = []string{accountability.Equivocate, accountability.RoundEquivocate, accountability.BadProposal,
	accountability.Censor, accountability.Invalid, accountability.InvalidFrame, accountability.Flood}

// voteRecords keeps each peer's signedVotes across its incarnations and epochs.
type voteRecords struct {
	t  *testing.T
	mu sync.Mutex
	by map[int]*signedVotes
}

func (v *voteRecords) of(i int) *signedVotes {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.by == nil {
		v.by = map[int]*signedVotes{}
	}
	if v.by[i] == nil {
		v.by[i] = &signedVotes{t: v.t, by: map[signedSlot]consensus.ValueID{}, sentAfter: map[signedSlot]consensus.ValueID{}}
	}
	return v.by[i]
}

// installFaults sets an honest member's Node up for the schedule: a short sign-bound stride, every
// vote it sends recorded (a conflicting one fails the test), and, in its first incarnation, its
// mid-height crash (cutting the stalled member off until after the restart) and, when
// crashOnDecided, its crash after deciding crashAt (runNet crashes those through OnCommit).
// sent counts the votes of this incarnation (its Nodes of successive epochs share it).
func installFaults(s nodeSchedule, i, incarnation int, nd *Node, votes *signedVotes, sent *int, isolate func(m int, d time.Duration), crashOnDecided bool) {
	if nd.store != nil {
		nd.store.SetSignBoundStride(2) // amnesia sits out a few heights, not 32
	}
	crashAfter := s.crashVote[i]
	nd.hooks.beforeSend = func(m consensus.Message) error {
		if m.Kind != consensus.KindVote {
			return nil
		}
		if incarnation == 1 && crashAfter > 0 && *sent >= crashAfter {
			if s.stall >= 0 {
				isolate(s.stall, time.Duration(s.pauseSec)*time.Second+3*time.Second)
			}
			return errTestCrash // the votes before this one went out
		}
		*sent++
		votes.note(incarnation, m.Vote) // fails the test on a conflicting vote
		return nil
	}
	if at, ok := s.crashAt[i]; ok && crashOnDecided && incarnation == 1 {
		nd.hooks.afterDecided = func(h uint64) error {
			if h >= at {
				return errTestCrash
			}
			return nil
		}
	}
}

// restartDamage is what a crash does to a member's StateDir before its restart.
func (s nodeSchedule) restartDamage() func(dir string) {
	switch s.damage {
	case "lost-tail":
		return func(dir string) { storage.LoseUnsyncedRecords(dir, s.lost) }
	case "damaged":
		return func(dir string) {
			path := dir + "/" + storage.JournalFile
			if b, err := os.ReadFile(path); err == nil && len(b) > 8 {
				b[len(b)-3] ^= 0x10
				_ = os.WriteFile(path, b, 0o600)
			}
		}
	}
	return nil
}

func runNodeSchedule(t *testing.T, s nodeSchedule) {
	t.Logf("%v", s)
	if s.open() {
		runMemberSchedule(t, s) // faultsched_member_test.go
		return
	}
	var mu sync.Mutex
	votes := &voteRecords{t: t}
	restart := map[int]bool{}
	for m := range s.crashVote {
		restart[m] = true
	}
	hosts := map[int]p2p.Network{}
	var peers []p2p.PeerID
	isolate := func(m int, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		for j, h := range hosts {
			if j != m {
				h.BlockPeerFor(peers[m], d)
				hosts[m].BlockPeerFor(peers[j], d)
			}
		}
	}
	plan := netPlan{spec: adversarialSpec(s.n, int(s.rounds)), rounds: s.rounds, attacks: s.attacks,
		crashAt: s.crashAt, crashPause: time.Duration(s.pauseSec) * time.Second, late: s.late, restartOnCrash: restart,
		install: func(i, incarnation int, nd *Node) {
			mu.Lock()
			hosts[i], peers = nd.cfg.Host, nd.peers
			mu.Unlock()
			if s.attacks[i] == "" {
				installFaults(s, i, incarnation, nd, votes.of(i), new(int), isolate, false)
			}
		}, beforeRestart: s.restartDamage()}
	r := runNet(t, plan)
	r.checkHonest(t)
	for i := range s.n {
		if s.attacks[i] != "" {
			continue
		}
		for _, k := range innocentKinds {
			if b := r.blame(i, k); b != 0 {
				t.Errorf("honest member %d named for %s %d times", i, k, b)
			}
		}
	}
}

func TestNodeFaultSchedules(t *testing.T) {
	skipShort(t)
	if *nodeSeed >= 0 {
		if *nodeLogLevel != "" {
			if err := testLogLevel.UnmarshalText([]byte(*nodeLogLevel)); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Test(t, func(t *testing.T) { runNodeSchedule(t, drawNodeSchedule(uint64(*nodeSeed))) })
		return
	}
	count := *nodeSchedules
	if count == 0 {
		count = 12 // half of them change the membership
		if testing.Short() {
			count = 2
		} else if raceEnabled {
			count = 6 // the race detector makes each one ~7x dearer; .ci/run runs node under it too
		}
	}
	var failed []uint64
	for seed := *nodeFirst; seed < *nodeFirst+uint64(count); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runNodeSchedule(t, drawNodeSchedule(seed)) })
			if t.Failed() {
				failed = append(failed, seed)
			}
		})
	}
	if len(failed) > 0 {
		slices.Sort(failed)
		t.Logf("failing seeds: %v", failed)
	}
}
