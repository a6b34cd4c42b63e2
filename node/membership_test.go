package node

import (
	"context"
	"errors"
	"fmt"
	"github.com/byzpp/byzpp/node/byzantine"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/roster"
	"github.com/byzpp/byzpp/node/storage"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/libp2p/go-libp2p/core/peer"
)

// churnPlan is an open run on an in-memory network (p2p/memnet): the first `members` keys are the genesis members, the rest
// volunteers; each peer runs a Peer (as `peer run` does).
type churnPlan struct {
	total, members int
	rounds         int
	silentRounds   int
	maxMembers     int
	joinAt         map[int]uint64 // peer → start it once the run reached this round
	leaveAt        map[int]uint64 // peer → call Leave once the run reached this round
	never          map[int]bool   // genesis members that never start (crashed for good)
	stopAt         map[int]uint64 // peer → stop it (kill) once the run reached this round
	restartAt      map[int]uint64 // peer stopped by stopAt → start a new Peer on its StateDir at this round
	attacks        map[int]string // peer → Config.Attack
	// Faults of the node fault schedules (faultsched_test.go). late starts a genesis member that
	// long after the others. install runs on every Node of peer i (each epoch's), incarnation 1 and,
	// after a crash, 2. A peer whose Run returns errTestCrash restarts on its StateDir (as a new Peer,
	// what a restarted process is) crashPause later, after beforeRestart ran on that StateDir.
	late          map[int]time.Duration
	install       func(r *churnRun, i, incarnation int, nd *Node)
	crashPause    time.Duration
	beforeRestart func(stateDir string)
	// sendDelay is every message's delay (0: 5 ms); deadline bounds the run in fake time (0: 20 s a
	// round and 2 minutes).
	sendDelay, deadline time.Duration
}

type churnRun struct {
	peers   []*Peer
	hosts   []p2p.Network
	mu      sync.Mutex
	digests []map[uint64][32]byte
	errs    []error
	running []bool
	// nodes lists every Node each peer ran (every epoch, every incarnation), in order.
	nodes [][]*Node
	// crashedAt: peers whose Run returned errTestCrash and that wait for their restart.
	crashedAt    map[int]time.Time
	incarnations []int
}

// isolate cuts peer m off from every other peer for d (both directions, as a partition does).
func (r *churnRun) isolate(m int, d time.Duration) {
	for j, h := range r.hosts {
		if j != m {
			h.BlockPeerFor(r.hosts[m].ID(), d)
			r.hosts[m].BlockPeerFor(h.ID(), d)
		}
	}
}

// lastNode is the last Node peer i ran (nil if it never was a member).
func (r *churnRun) lastNode(i int) *Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.nodes[i]) == 0 {
		return nil
	}
	return r.nodes[i][len(r.nodes[i])-1]
}

func (c *churnRun) maxRound() uint64 {
	var m uint64
	for _, p := range c.peers {
		m = max(m, p.Status().Round)
	}
	return m
}

func runChurn(t *testing.T, plan churnPlan) (*churnRun, *genesis.Genesis) {
	t.Helper()
	spec := smallSpec(0, "none")
	spec.Members, spec.Rounds = plan.members, plan.rounds
	keys, ids := testKeys(t, plan.total)
	// Genesis members: the first plan.members keys in ID order (still sorted).
	g := &genesis.Genesis{Version: genesis.Version, Name: "churn", Members: ids[:plan.members], Spec: spec,
		Timeouts: genesis.DefaultTimeouts(), Open: true, MaxMembers: plan.maxMembers, SilentRounds: plan.silentRounds}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: testLogLevel}))
	// Every message takes 5 ms of fake time, so that rounds take time and joins happen mid-run.
	if plan.sendDelay == 0 {
		plan.sendDelay = 5 * time.Millisecond
	}
	if plan.deadline == 0 {
		plan.deadline = time.Duration(plan.rounds)*20*time.Second + 2*time.Minute
	}
	hosts, closeHosts := memHosts(t, keys, p2p.Options{Logger: logger, SendDelay: plan.sendDelay})
	defer closeHosts()
	dir := t.TempDir()
	r := &churnRun{peers: make([]*Peer, plan.total), hosts: hosts, digests: make([]map[uint64][32]byte, plan.total),
		errs: make([]error, plan.total), running: make([]bool, plan.total), nodes: make([][]*Node, plan.total),
		crashedAt: map[int]time.Time{}, incarnations: make([]int, plan.total)}
	// withInstall makes p record its Nodes and run plan.install on each (a new incarnation of peer i).
	withInstall := func(i int, p *Peer) *Peer {
		r.incarnations[i]++
		incarnation := r.incarnations[i]
		p.install = func(nd *Node) {
			r.mu.Lock()
			r.nodes[i] = append(r.nodes[i], nd)
			r.mu.Unlock()
			if plan.install != nil {
				plan.install(r, i, incarnation, nd)
			}
		}
		return p
	}
	for i := range keys {
		r.digests[i] = map[uint64][32]byte{}
		i := i
		p, err := NewPeer(Config{Genesis: g, Key: keys[i], Host: hosts[i], Logger: logger, Attack: plan.attacks[i],
			StateDir: filepath.Join(dir, fmt.Sprint(i)), OnCommit: func(round uint64, d [32]byte) {
				r.mu.Lock()
				r.digests[i][round] = d
				r.mu.Unlock()
			}})
		if err != nil {
			t.Fatal(err)
		}
		r.peers[i] = withInstall(i, p)
	}
	time.Sleep(2 * time.Second)
	began := time.Now()
	var wg sync.WaitGroup
	stops := make([]context.CancelFunc, plan.total)
	start := func(i int) {
		pctx, stop := context.WithCancel(ctx)
		stops[i] = stop
		r.running[i] = true
		p := r.peers[i]
		wg.Go(func() {
			err := p.Run(pctx)
			r.mu.Lock()
			defer r.mu.Unlock()
			if errors.Is(err, errTestCrash) {
				r.crashedAt[i] = time.Now()
			} else if err != nil {
				r.errs[i] = err
			}
		})
	}
	// restartCrashed starts a new Peer on the StateDir of each peer that crashed crashPause ago.
	restartCrashed := func() {
		r.mu.Lock()
		var due []int
		for i, at := range r.crashedAt {
			if time.Since(at) >= plan.crashPause {
				due = append(due, i)
				delete(r.crashedAt, i)
			}
		}
		r.mu.Unlock()
		slices.Sort(due)
		for _, i := range due {
			if plan.beforeRestart != nil {
				plan.beforeRestart(r.peers[i].cfg.StateDir)
			}
			p, err := NewPeer(r.peers[i].cfg)
			if err != nil {
				t.Fatalf("peer %d restart: %v", i, err)
			}
			r.peers[i] = withInstall(i, p)
			start(i)
		}
	}
	restarted := map[int]bool{}
	for i := range plan.members {
		if _, late := plan.joinAt[i]; !late && !plan.never[i] && plan.late[i] == 0 {
			start(i)
		}
	}
	deadline := time.Now().Add(plan.deadline)
	for time.Now().Before(deadline) {
		k := r.maxRound()
		for i, d := range plan.late {
			if !r.running[i] && r.incarnations[i] == 1 && time.Since(began) >= d {
				start(i)
			}
		}
		restartCrashed()
		for i, at := range plan.joinAt {
			if !r.running[i] && k >= at {
				start(i)
			}
		}
		for i, at := range plan.leaveAt {
			if k >= at {
				r.peers[i].Leave()
			}
		}
		for i, at := range plan.stopAt {
			if r.running[i] && k >= at && !restarted[i] {
				stops[i]()
				r.running[i] = false
			}
		}
		for i, at := range plan.restartAt {
			if !r.running[i] && !restarted[i] && k >= at {
				// A new Peer on the same host and StateDir: what a restarted process does.
				restarted[i] = true
				old := r.peers[i]
				p, err := NewPeer(old.cfg)
				if err != nil {
					t.Fatalf("peer %d restart: %v", i, err)
				}
				r.peers[i] = withInstall(i, p)
				start(i)
			}
		}
		if r.finished(plan) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	for i, err := range r.errs {
		if err != nil && plan.attacks[i] == "" { // a Byzantine peer's own end is its business
			t.Errorf("peer %d: Run: %v", i, err)
		}
	}
	return r, g
}

// finished: every peer still running (and not leaving) decided the last round.
func (r *churnRun) finished(plan churnPlan) bool {
	r.mu.Lock()
	crashed := len(r.crashedAt)
	r.mu.Unlock()
	if crashed > 0 {
		return false
	}
	for i := range plan.late {
		if !r.running[i] {
			return false // not started yet
		}
	}
	for i, p := range r.peers {
		if !r.running[i] || plan.leaveAt[i] > 0 || (plan.stopAt[i] > 0 && plan.restartAt[i] == 0) {
			continue
		}
		if p.Status().Round < uint64(plan.rounds) {
			return false
		}
	}
	return true
}

// agree asserts that, at every round two of the given peers committed, they committed the same
// state, and that each of them reached the last round.
func (r *churnRun) agree(t *testing.T, rounds int, who ...int) {
	t.Helper()
	for _, i := range who {
		if got := r.peers[i].Status().Round; got < uint64(rounds) {
			t.Errorf("peer %d stopped at round %d, want %d", i, got, rounds)
		}
	}
	for k := uint64(1); k <= uint64(rounds); k++ {
		ref, from := [32]byte{}, -1
		for _, i := range who {
			d, ok := r.digests[i][k]
			if !ok {
				continue
			}
			if from < 0 {
				ref, from = d, i
			} else if d != ref {
				t.Fatalf("round %d: peers %d and %d committed different states", k, from, i)
			}
		}
	}
}

func TestJoinMidRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		plan := churnPlan{total: 5, members: 4, rounds: 40, maxMembers: 5, joinAt: map[int]uint64{4: 10}}
		r, _ := runChurn(t, plan)
		r.agree(t, plan.rounds, 0, 1, 2, 3, 4)
		if len(r.digests[4]) == 0 {
			t.Fatal("the newcomer committed nothing")
		}
		first := uint64(1 << 62)
		for k := range r.digests[4] {
			first = min(first, k)
		}
		if first <= 10 || first >= uint64(plan.rounds) {
			t.Errorf("the newcomer's first committed round is %d, want one after it joined at 10", first)
		}
		for i, p := range r.peers {
			if p.lastChain == nil || len(p.lastChain.Latest().Members) != 5 {
				t.Fatalf("peer %d does not count the newcomer as a member", i)
			}
		}
		// A member's curve spans the whole run, across the change of member list.
		curve := r.peers[0].Status().Curve
		if len(curve) == 0 || curve[0].Round != 0 || curve[len(curve)-1].Round != plan.rounds {
			t.Errorf("member 0's curve covers rounds %v…%v, want 0…%d", curve[0].Round, curve[len(curve)-1].Round, plan.rounds)
		}
	})
}

func TestLeaveAndSilentRemoval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Six genesis members: one leaves at round 8, one is killed at round 12 and removed for
		// silence; the other four decide every round and agree.
		plan := churnPlan{total: 6, members: 6, rounds: 50, maxMembers: 6, silentRounds: 6,
			leaveAt: map[int]uint64{1: 8}, stopAt: map[int]uint64{4: 12}}
		r, _ := runChurn(t, plan)
		r.agree(t, plan.rounds, 0, 2, 3, 5)
		c := r.peers[0].lastChain
		if c == nil || len(c.Latest().Members) != 4 {
			t.Fatalf("members at the end: %v, want 4 (one left, one removed)", c)
		}
		for _, i := range []int{1, 4} {
			if c.Latest().Index(r.peers[i].cfg.Host.ID().String()) >= 0 {
				t.Errorf("peer %d is still a member", i)
			}
		}
		if r.errs[1] != nil {
			t.Errorf("the leaver's Run: %v", r.errs[1])
		}
	})
}

// TestJoinPastFalseStateAndRestartAcrossEpochs: a newcomer joins although one member serves it false
// states (a bad certificate), and a member killed before the join and restarted after it resumes
// from its state directory into the new member list (its member history is persisted).
func TestJoinPastFalseStateAndRestartAcrossEpochs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		plan := churnPlan{total: 6, members: 5, rounds: 60, maxMembers: 6,
			joinAt: map[int]uint64{5: 10}, stopAt: map[int]uint64{1: 6}, restartAt: map[int]uint64{1: 30},
			attacks: map[int]string{4: byzantine.AttackFalseStateQuorum}}
		r, _ := runChurn(t, plan)
		r.agree(t, plan.rounds, 0, 1, 2, 3, 5)
		if len(r.digests[5]) == 0 {
			t.Fatal("the newcomer committed nothing")
		}
		if r.peers[5].refused.Load() == 0 {
			t.Error("the newcomer was never served the false state it should have refused")
		}
		nd := r.peers[1].Node()
		if nd == nil || nd.chain.Len() != 1 || nd.self < 0 || len(nd.gen.Members) != 6 {
			t.Fatalf("the restarted member is not in the new member list: %+v", nd)
		}
	})
}

// TestMemberHistoryFile: the member history survives a restart through its checked file, and a
// damaged file is quarantined, never loaded (the history comes back with the next state fetched).
func TestMemberHistoryFile(t *testing.T) {
	keys, ids := testKeys(t, 5)
	spec := smallSpec(0, "none")
	g := &genesis.Genesis{Version: genesis.Version, Name: "hist", Members: ids[:4], Spec: spec,
		Timeouts: genesis.DefaultTimeouts(), Open: true, MaxMembers: 5}
	run, _ := g.RunID()
	// A certified join of ids[4], signed by three of the four genesis members.
	op, err := roster.SignOp(keys[4], run, wire.OpJoin, 2)
	if err != nil {
		t.Fatal(err)
	}
	p := wire.Proposal{Run: run, Height: 3, POLRound: -1, StateDigest: wire.Digest{1}, Ops: []wire.MemberOp{op}}
	vote := wire.Vote{Run: run, Type: wire.Precommit, Height: 3, Value: p.ValueID()}
	var envs []wire.Envelope
	for i := range 3 {
		e, err := wire.SignMessage(keys[i], uint32(i), &vote)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, e)
	}
	cert, err := wire.AssembleCertificate(envs, wire.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	nd := &Node{store: storage.Open(dir)}
	nd.chain = roster.New(run, g.Members, 5)
	if err := nd.chain.Append(wire.ChangeProof{Proposal: p, Cert: cert}, true); err != nil {
		t.Fatal(err)
	}
	if err := nd.saveChain(); err != nil {
		t.Fatal(err)
	}
	got, err := loadChain(storage.Open(dir), g, run, log)
	if err != nil || got.Len() != 1 || len(got.Latest().Members) != 5 {
		t.Fatalf("reloaded history: %v, %v", got, err)
	}
	path := filepath.Join(dir, membershipFile)
	raw, _ := os.ReadFile(path)
	raw[len(raw)-5] ^= 0x10
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = loadChain(storage.Open(dir), g, run, log)
	if err != nil || got.Len() != 0 {
		t.Fatalf("a damaged history was loaded: %v, %v", got, err)
	}
	if _, err := os.Stat(path + ".corrupt"); err != nil {
		t.Errorf("the damaged file was not quarantined: %v", err)
	}
}

// TestValidatorRefusesBadOps: what a validator says to a leader's membership operations — a removal
// of a member it heard from recently, removals in a run without silent_rounds, operations in a
// closed run, a forged leave — and that it accepts the removal of a member silent long enough.
func TestValidatorRefusesBadOps(t *testing.T) {
	keys, ids := testKeys(t, 5)
	open := &genesis.Genesis{Version: genesis.Version, Members: ids[:4], Spec: smallSpec(0, "none"),
		Timeouts: genesis.DefaultTimeouts(), Open: true, MaxMembers: 5, SilentRounds: 10}
	run, _ := open.RunID()
	mk := func(g *genesis.Genesis) *Node {
		nd := &Node{}
		nd.genesis, nd.gen, nd.run, nd.n = g, g, run, len(g.Members)
		nd.chain = roster.New(run, g.Members, g.Capacity())
		nd.acct = nd.newBook()
		return nd
	}
	rm := func(m int, h uint64) wire.MemberOp { o, _ := roster.RemoveOp(ids[m], h); return o }
	forged, _ := roster.SignOp(keys[4], run, wire.OpLeave, 30)
	forged.Peer = []byte(mustPeer(t, ids[1]))
	noSilence := *open
	noSilence.SilentRounds = 0
	closed := *open
	closed.Open, closed.MaxMembers, closed.SilentRounds = false, 0, 0
	for _, tc := range []struct {
		name  string
		g     *genesis.Genesis
		heard uint64 // height member 2 was last heard from
		op    wire.MemberOp
		ok    bool
		// disputed: refused for this peer's own view of silence, which names nobody (the leader's
		// view may differ honestly); the other refusals name the leader for a bad proposal.
		disputed bool
	}{
		{"remove a member silent for 10 rounds", open, 30, rm(2, 40), true, false},
		{"remove a member silent for 5 (half of silent_rounds)", open, 35, rm(2, 40), true, false},
		{"remove a member heard from 2 rounds ago", open, 38, rm(2, 40), false, true},
		{"remove in a run without silent_rounds", &noSilence, 0, rm(2, 40), false, false},
		{"any operation in a closed run", &closed, 0, rm(2, 40), false, false},
		{"a leave signed by someone else", open, 38, forged, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nd := mk(tc.g)
			nd.acct.ClearSilent(2, tc.heard) // a vote of member 2 at that height, as onVote records it
			nd.acct.ClearSilent(1, 39)
			err := nd.checkProposalOps(&wire.Proposal{Run: run, Height: 40, Ops: []wire.MemberOp{tc.op}})
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if disputed := errors.Is(err, ErrSilenceDisputed); disputed != tc.disputed {
				t.Errorf("err = %v: a view of silence only: %v, want %v", err, disputed, tc.disputed)
			}
		})
	}
}

func mustPeer(t *testing.T, s string) peer.ID {
	t.Helper()
	id, err := peer.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestJoinMidRunWithRelay: the same with seven genesis members, so that votes travel through the
// leader's relay (relayMinMembers) in both epochs, with pairwise keys derived per member list.
func TestJoinMidRunWithRelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		plan := churnPlan{total: 8, members: 7, rounds: 40, maxMembers: 8, joinAt: map[int]uint64{7: 10}}
		r, _ := runChurn(t, plan)
		r.agree(t, plan.rounds, 0, 1, 2, 3, 4, 5, 6, 7)
		if len(r.digests[7]) == 0 {
			t.Fatal("the newcomer committed nothing")
		}
		var bundles uint64
		for _, p := range r.peers {
			bundles += p.Status().RelayBundlesIn
		}
		if bundles == 0 {
			t.Error("no vote went through the relay")
		}
	})
}
