package consensus

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// A deterministic in-memory cluster of machines for scenario tests (network in cluster_net_test.go,
// application and checks in cluster_app_test.go). Everything is driven by one loop, no goroutines and
// no wall clock, so a seed replays exactly.

type cluster struct {
	t     testing.TB
	n     int
	seed  uint64
	now   uint64
	net   netConfig
	r     *rand.Rand
	nodes []*simNode
	queue inflight
	seq   uint64

	signed    map[sigKey]bool
	slots     map[slotKey]Message     // first message each honest member signed in each slot
	decided   map[uint64]ValueID      // the value honest members decided at each height
	proposed  map[ValueID]bool        // every value some member signed a proposal for
	proposals map[[2]uint64][]ValueID // values proposed at (height, round), in signing order
	valuesAt  map[uint64][]ValueID
	evidence  map[int]int // member → number of honest reports
	buffered  []int       // per member: messages its machine buffered for a future height
	delivered uint64
	// statusEvery is the number of ticks between "my height" announcements used for catch-up.
	statusEvery uint64
}

type simNode struct {
	id      int
	cfg     Config
	m       *Machine // nil while crashed
	byz     strategy // nil: honest
	disk    *PersistentState
	height  uint64              // the application's height: the next one to decide
	certs   map[uint64]Decision // decisions applied (persisted by the application)
	pending map[uint64]Decision // certificates received for heights not reached yet
	startAt uint64              // tick at which to call StartHeight(height); 0: none pending
	propose *NeedValue          // value requested by the machine
	propAt  uint64
	downTil uint64 // crashed until this tick (restart then); 0 when up
	// crashMidReady, if non-zero, crashes the node at that tick after saving Persist but before
	// sending the Ready's messages.
	crashMidReady uint64
	restarts      int
}

func (n *simNode) honest() bool { return n.byz == nil }

// newCluster builds n members with the given leader function; strategies[i] != nil makes i Byzantine.
func newCluster(t testing.TB, n int, seed uint64, net netConfig, proposer func(uint64, uint32) int, strategies map[int]strategy) *cluster {
	c := &cluster{
		t: t, n: n, seed: seed, net: net,
		r:           rng.New(seed, 0, rng.Sampling, 0),
		signed:      make(map[sigKey]bool),
		slots:       make(map[slotKey]Message),
		decided:     make(map[uint64]ValueID),
		proposed:    make(map[ValueID]bool),
		proposals:   make(map[[2]uint64][]ValueID),
		valuesAt:    make(map[uint64][]ValueID),
		evidence:    make(map[int]int),
		buffered:    make([]int, n),
		statusEvery: 16,
	}
	for i := range n {
		cfg := Config{
			Self: i, N: n, Proposer: proposer,
			Propose:          TimeoutConfig{Base: 12, Delta: 4},
			Prevote:          TimeoutConfig{Base: 6, Delta: 2},
			Precommit:        TimeoutConfig{Base: 6, Delta: 2},
			RebroadcastEvery: 10,
			MaxFutureHeights: 3,
		}
		node := &simNode{id: i, cfg: cfg, byz: strategies[i], certs: make(map[uint64]Decision), pending: make(map[uint64]Decision)}
		m, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		node.m = m
		c.nodes = append(c.nodes, node)
	}
	for _, node := range c.nodes {
		if err := node.m.StartHeight(0); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// rrProposer is round-robin leadership, (h + r) mod n.
func rrProposer(n int) func(uint64, uint32) int { return roundRobin(n) }

// seededProposer draws the leader of each (h, r) from the shared seed, as the real network does.
func seededProposer(seed uint64, n int) func(uint64, uint32) int {
	return func(h uint64, r uint32) int { return rng.IntN(rng.New(seed, h, rng.Leader, uint64(r)), n) }
}

// step advances the whole system by one tick.
func (c *cluster) step() {
	c.now++
	for c.queue.Len() > 0 && c.queue[0].at <= c.now {
		e := heap.Pop(&c.queue).(envelope)
		c.deliver(e)
	}
	for _, n := range c.nodes {
		c.tickNode(n)
	}
	for _, n := range c.nodes {
		c.drain(n)
	}
}

// run steps until every honest member has decided heights 0..target−1 or maxTicks pass, and
// reports whether the target was reached.
func (c *cluster) run(target uint64, maxTicks uint64) bool {
	for end := c.now + maxTicks; c.now < end; {
		if c.reached(target) {
			return true
		}
		c.step()
	}
	return c.reached(target)
}

func (c *cluster) reached(target uint64) bool {
	for _, n := range c.nodes {
		if n.honest() && n.height < target {
			return false
		}
	}
	return true
}

func (c *cluster) String() string {
	var s string
	for _, n := range c.nodes {
		if n.m == nil {
			s += fmt.Sprintf(" [%d down]", n.id)
			continue
		}
		st := n.m.Status()
		s += fmt.Sprintf(" [%d app h%d m h%d r%d %s byz=%v]", n.id, n.height, st.Height, st.Round, st.Step, !n.honest())
	}
	return fmt.Sprintf("tick %d:%s", c.now, s)
}

func (c *cluster) deliver(e envelope) {
	n := c.nodes[e.to]
	if n.m == nil {
		return // crashed: lost
	}
	c.delivered++
	switch {
	case e.msg != nil:
		if !c.signed[keyOf(*e.msg)] {
			return // forged: a real node's signature check drops it
		}
		before := n.m.Status().Height
		var err error
		if e.msg.Kind == KindProposal {
			err = n.m.StepProposal(e.msg.Proposal, isValid(e.msg.Proposal.Value))
		} else {
			err = n.m.StepVote(e.msg.Vote)
		}
		if err == nil && e.msg.Height() > before {
			c.buffered[n.id]++
		}
	case e.status != nil:
		c.answerStatus(n, e.from, *e.status)
	case e.cert != nil:
		c.receiveCert(n, *e.cert)
	}
}

func (c *cluster) tickNode(n *simNode) {
	if n.m == nil {
		if n.downTil != 0 && c.now >= n.downTil {
			c.restart(n)
		}
		return
	}
	n.m.Tick()
	if n.byz != nil {
		n.byz.tick(c, n)
	}
	if n.propose != nil && c.now >= n.propAt {
		v := validValue(n.propose.Height, n.propose.Round, n.id, 0)
		if n.byz != nil {
			v = n.byz.value(c, n, n.propose.Height, n.propose.Round)
		}
		_ = n.m.Propose(n.propose.Height, n.propose.Round, v) // stale requests fail harmlessly
		n.propose = nil
	}
	if n.startAt != 0 && c.now >= n.startAt {
		n.startAt = 0
		if err := n.m.StartHeight(n.height); err != nil {
			c.t.Errorf("member %d StartHeight(%d): %v", n.id, n.height, err)
		}
	}
	if c.now%c.statusEvery == uint64(n.id)%c.statusEvery && (n.byz == nil || !n.byz.silent()) {
		h := n.height
		for to := range c.n {
			c.send(envelope{from: n.id, to: to, status: &h})
		}
	}
}

// drain handles a member's Ready output the way node/ must: persist, then send, then apply.
func (c *cluster) drain(n *simNode) {
	for n.m != nil && n.m.HasReady() {
		rd := n.m.Ready()
		if rd.Persist != nil {
			ps := *rd.Persist
			ps.LastSigned = slices.Clone(ps.LastSigned)
			ps.OwnProposals = slices.Clone(ps.OwnProposals)
			n.disk = &ps
		}
		if n.crashMidReady != 0 && c.now >= n.crashMidReady {
			n.crashMidReady = 0
			c.crash(n, 5+uint64(rng.IntN(c.r, 20)))
			return
		}
		for _, msg := range rd.Messages {
			c.checkSigned(n, msg)
			if n.byz != nil {
				n.byz.send(c, n, msg)
				continue
			}
			c.sign(n.id, msg)
			c.broadcast(n.id, msg)
		}
		if n.byz == nil || !n.byz.silent() {
			for _, v := range rd.Relay {
				msg := VoteMessage(v)
				c.broadcast(n.id, msg)
			}
		}
		for _, d := range rd.Decisions {
			c.onDecision(n, d)
		}
		for _, e := range rd.Evidence {
			c.onEvidence(n, e)
		}
		if rd.NeedValue != nil {
			nv := *rd.NeedValue
			n.propose, n.propAt = &nv, c.now+proposeDelay
		}
		n.m.Advance(rd)
		for _, p := range rd.Validate {
			_ = n.m.StepProposal(p, isValid(p.Value))
		}
	}
}
