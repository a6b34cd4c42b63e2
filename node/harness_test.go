package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/p2p"
)

// netPlan describes one adversarial run on an in-memory network (p2p/memnet), run inside
// testing/synctest (fake clock).
type netPlan struct {
	// libp2p runs the plan on libp2p's mocknet instead (gossipsub's own peer scores and graylisting).
	// The race detector does not survive mocknet: such runs skip under -race.
	libp2p  bool
	spec    sim.Spec
	attacks map[int]string // member → Config.Attack
	rounds  uint64         // every honest member must decide this many rounds
	// late delays the start of a member's Run (a lagging peer that must catch up from certificates).
	late map[int]time.Duration
	// crashAt stops a member's Run once it has decided that many rounds; a new Node on the same
	// StateDir and host then resumes after crashPause.
	crashAt    map[int]uint64
	crashPause time.Duration
	// install, if set, runs on every Node built for member i (incarnation 1, then 2 after a restart),
	// e.g. to set crash hooks. A member whose Run returns errTestCrash is restarted like a crashAt one
	// when restartOnCrash names it.
	install        func(i, incarnation int, nd *Node)
	restartOnCrash map[int]bool
	// beforeRestart, if set, runs on a crashed member's StateDir before its new Node is built.
	beforeRestart func(stateDir string)
	// probe, if set, looks at the running network just before shutdown.
	probe func(*netRun)
}

// netRun is a finished run: the nodes (the restarted one for a crashed member), every state each
// member committed, and the honest peers' view of the others' peer scores just before shutdown.
type netRun struct {
	plan    netPlan
	dir     string // member i's StateDir is dir/i
	nodes   []*Node
	hosts   []p2p.Network
	mu      sync.Mutex
	digests []map[uint64][32]byte
	scores  []map[int]float64 // scores[i][j]: member i's gossip score of member j
	errs    []error
	starts  []int // how many times each member's Run started
	// resumedAt is the round a restarted member's new Node restored from its StateDir.
	resumedAt uint64
}

func (r *netRun) honest(i int) bool { return r.plan.attacks[i] == "" }

func (r *netRun) record(i int) func(uint64, [32]byte) {
	return func(round uint64, d [32]byte) {
		r.mu.Lock()
		r.digests[i][round] = d
		r.mu.Unlock()
	}
}

// runNet runs the plan until every honest member decided plan.rounds (or the fake-clock deadline).
func runNet(t *testing.T, plan netPlan) *netRun {
	t.Helper()
	n := plan.spec.Members
	keys, g := testGenesis(t, "byz", plan.spec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: testLogLevel}))
	r := &netRun{plan: plan, nodes: make([]*Node, n), digests: make([]map[uint64][32]byte, n),
		errs: make([]error, n), starts: make([]int, n)}
	if plan.libp2p && raceEnabled {
		t.Skip("libp2p's mocknet under the race detector (see raceEnabled)")
	}
	hosts, closeHosts := testHosts(ctx, t, keys, 1, p2p.Options{Logger: logger}, plan.libp2p)
	defer closeHosts()
	r.hosts = hosts
	for i := range r.digests {
		r.digests[i] = map[uint64][32]byte{}
	}
	dir := t.TempDir()
	r.dir = dir
	newNode := func(i int, key p2p.PrivKey, onCommit func(uint64, [32]byte)) *Node {
		nd, err := New(Config{Genesis: g, Key: key, Host: r.hosts[i], Attack: plan.attacks[i], Logger: logger,
			StateDir: filepath.Join(dir, fmt.Sprint(i)), OnCommit: onCommit})
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		if plan.install != nil {
			plan.install(i, r.starts[i]+1, nd)
		}
		return nd
	}
	crashCtx := make([]context.Context, n)
	for i, k := range keys {
		record := r.record(i)
		onCommit := record
		if at, ok := plan.crashAt[i]; ok {
			// Crash from inside the event loop, at exactly that round: in fake time a whole run can
			// pass between two polls of Status.
			cctx, crash := context.WithCancel(ctx)
			crashCtx[i] = cctx
			onCommit = func(round uint64, d [32]byte) {
				record(round, d)
				if round >= at {
					crash()
				}
			}
		}
		if plan.restartOnCrash[i] && crashCtx[i] == nil {
			crashCtx[i] = ctx
		}
		r.nodes[i] = newNode(i, k, onCommit)
	}
	time.Sleep(2 * time.Second) // let gossipsub build its mesh (on mocknet)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() { r.member(ctx, crashCtx[i], i, func() *Node { return newNode(i, k, r.record(i)) }) })
	}
	deadline := time.Now().Add(time.Duration(plan.rounds)*30*time.Second + time.Minute)
	for time.Now().Before(deadline) && !r.done() {
		time.Sleep(100 * time.Millisecond)
	}
	// Peer scores are sampled once a second; let the latest verdicts show.
	time.Sleep(2 * time.Second)
	r.scores = make([]map[int]float64, n)
	for i, h := range r.hosts {
		r.scores[i] = map[int]float64{}
		for j, p := range r.nodes[0].peers {
			if s, ok := h.PeerScore(p); ok {
				r.scores[i][j] = s
			}
		}
	}
	if plan.probe != nil {
		plan.probe(r)
	}
	cancel()
	wg.Wait()
	// Let every goroutine settle before the hosts close: mocknet adds a stream to its connection only
	// after opening it, so a stream opened while the connection closes is never reset and its
	// transport goroutine outlives the bubble (synctest then fails the test as deadlocked).
	if plan.libp2p {
		synctest.Wait()
	}
	for i, err := range r.errs {
		if err != nil {
			t.Errorf("member %d: Run: %v", i, err)
		}
	}
	return r
}

// member runs one member: it waits for its late start and runs; a member planned to crash runs
// until its crash context ends (see runNet), then resumes from its StateDir with a new Node.
func (r *netRun) member(ctx, crashCtx context.Context, i int, restart func() *Node) {
	if d := r.plan.late[i]; d > 0 {
		time.Sleep(d)
	}
	r.mu.Lock()
	nd := r.nodes[i]
	r.starts[i]++
	r.mu.Unlock()
	if crashCtx == nil {
		r.errs[i] = nd.Run(ctx)
		return
	}
	if err := nd.Run(crashCtx); (err != nil && !errors.Is(err, errTestCrash)) || ctx.Err() != nil {
		r.errs[i] = err
		return
	}
	time.Sleep(r.plan.crashPause)
	if f := r.plan.beforeRestart; f != nil {
		f(filepath.Join(r.dir, fmt.Sprint(i)))
	}
	nd = restart()
	r.mu.Lock()
	r.nodes[i] = nd
	r.starts[i]++
	r.resumedAt = nd.eng.Round()
	r.mu.Unlock()
	r.errs[i] = nd.Run(ctx)
}

func (r *netRun) done() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, nd := range r.nodes {
		if r.honest(i) && nd.Status().Round < r.plan.rounds {
			return false
		}
	}
	return true
}

// checkHonest asserts progress (every honest member decided plan.rounds) and agreement (at every
// round two honest members committed, they committed the same state).
func (r *netRun) checkHonest(t *testing.T) {
	t.Helper()
	for i, nd := range r.nodes {
		if !r.honest(i) {
			continue
		}
		if got := nd.Status().Round; got < r.plan.rounds {
			t.Errorf("honest member %d stopped at round %d, want ≥ %d", i, got, r.plan.rounds)
		}
	}
	agreed := 0
	for round := uint64(1); round <= r.plan.rounds; round++ {
		var ref [32]byte
		refFrom := -1
		for i := range r.nodes {
			d, ok := r.digests[i][round]
			if !r.honest(i) || !ok {
				continue
			}
			if refFrom < 0 {
				ref, refFrom = d, i
				continue
			}
			if d != ref {
				t.Errorf("round %d: honest members %d and %d committed different states %x / %x", round, refFrom, i, ref[:6], d[:6])
			}
		}
		if refFrom >= 0 {
			agreed++
		}
	}
	if agreed < int(r.plan.rounds) {
		t.Errorf("only %d of %d rounds were committed by an honest member", agreed, r.plan.rounds)
	}
}

// blame sums, over the honest members, the offences of the given kinds they attributed to member m.
func (r *netRun) blame(m int, kinds ...string) uint64 {
	var sum uint64
	for i, nd := range r.nodes {
		if !r.honest(i) {
			continue
		}
		b := nd.Status().Blame[m]
		for _, k := range kinds {
			sum += b[k]
		}
	}
	return sum
}

// rejects sums the honest members' gossip rejections by reason.
func (r *netRun) rejects() map[string]uint64 {
	out := map[string]uint64{}
	for i, nd := range r.nodes {
		if !r.honest(i) {
			continue
		}
		for _, t := range []p2p.Topic{nd.roundT, nd.consT} {
			for reason, c := range t.Rejects().Snapshot() {
				out[reason] += c
			}
		}
	}
	return out
}

// adversarialSpec is smallSpec with n members, none of them Byzantine at the learning level (the
// attacks under test are protocol-level), and the given number of rounds.
func adversarialSpec(n, rounds int) sim.Spec {
	s := smallSpec(0, "none")
	s.Members, s.Rounds = n, rounds
	return s
}

var testLogLevel = slog.LevelError

// errTestCrash is returned by crash hooks (Node.hooks) to stop a member's Run as a crash would.
var errTestCrash = errors.New("test: simulated crash")
