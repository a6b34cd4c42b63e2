package consensus

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
)

// This file is a deterministic in-memory network of machines for scenario tests: a seeded scheduler
// delays, reorders and drops messages (and partitions members) until a global stabilisation time,
// after which every message arrives within maxDelay ticks. Signatures are modelled by a registry of
// what each member signed: a message is delivered only if its claimed author signed it, so Byzantine
// members can lie about everything except who they are. Everything is driven by one loop, no
// goroutines and no wall clock, so a seed replays exactly.

// netConfig describes the network's behaviour.
type netConfig struct {
	minDelay, maxDelay uint64  // delivery delay in ticks
	dropProb           float64 // before gst
	gst                uint64  // global stabilisation time: no drops from then on
	// cut reports whether the link from → to is down at tick now (partitions), checked at sending.
	cut func(now uint64, from, to int) bool
}

// envelope is one message in flight. Exactly one of msg, cert, status is set.
type envelope struct {
	from, to int
	at, seq  uint64
	msg      *Message
	cert     *Decision
	status   *uint64 // "I am at this height": asks peers for certificates
}

type inflight []envelope

func (q inflight) Len() int { return len(q) }
func (q inflight) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q inflight) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *inflight) Push(x any)   { *q = append(*q, x.(envelope)) }
func (q *inflight) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// sigKey identifies signed content (the Rebroadcast mark is not signed).
type sigKey struct {
	kind MessageKind
	p    Proposal
	v    Vote
}

func keyOf(m Message) sigKey {
	if m.Kind == KindProposal {
		return sigKey{kind: KindProposal, p: m.Proposal}
	}
	return sigKey{kind: KindVote, v: m.Vote}
}

// slotKey is what a member may sign only once: one proposal per (h, r), one vote per (h, r, type).
type slotKey struct {
	member int
	kind   MessageKind
	height uint64
	round  uint32
	vtype  VoteType
}

func slotOf(m Message) slotKey {
	if m.Kind == KindProposal {
		return slotKey{member: m.Proposal.Proposer, kind: KindProposal, height: m.Proposal.Height, round: m.Proposal.Round}
	}
	return slotKey{member: m.Vote.Voter, kind: KindVote, height: m.Vote.Height, round: m.Vote.Round, vtype: m.Vote.Type}
}

// Timings of the test application.
const (
	proposeDelay = 2 // ticks the leader's application takes to build a value
	applyDelay   = 1 // ticks to apply a decision before StartHeight(h+1)
)

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

// validValue builds the value an honest application proposes; byte 0 marks values honest members
// accept, so "re-deriving" is checking that mark.
func validValue(h uint64, r uint32, proposer int, variant byte) ValueID {
	var v ValueID
	v[0] = 1
	binary.LittleEndian.PutUint64(v[1:], h)
	binary.LittleEndian.PutUint32(v[9:], r)
	v[13] = byte(proposer)
	v[14] = variant
	return v
}

func invalidValue(h uint64, r uint32, proposer int) ValueID {
	v := validValue(h, r, proposer, 0)
	v[0] = 2
	return v
}

func isValid(v ValueID) bool { return v[0] == 1 }

// sign records that author signed msg. Signing in another member's name is a bug of the test.
func (c *cluster) sign(author int, msg Message) {
	if msg.Sender() != author {
		c.t.Fatalf("member %d tried to sign a message of %d", author, msg.Sender())
	}
	c.signed[keyOf(msg)] = true
	if msg.Kind == KindProposal {
		k := [2]uint64{msg.Proposal.Height, uint64(msg.Proposal.Round)}
		if !slices.Contains(c.proposals[k], msg.Proposal.Value) {
			c.proposals[k] = append(c.proposals[k], msg.Proposal.Value)
		}
		if !c.proposed[msg.Proposal.Value] {
			c.proposed[msg.Proposal.Value] = true
			c.valuesAt[msg.Proposal.Height] = append(c.valuesAt[msg.Proposal.Height], msg.Proposal.Value)
		}
	}
}

// send queues a message from → to, subject to drops, partitions and delays.
func (c *cluster) send(e envelope) {
	if e.from == e.to {
		return
	}
	if c.net.cut != nil && c.net.cut(c.now, e.from, e.to) {
		return
	}
	// Draw both numbers every time so that the stream does not depend on which branch was taken.
	drop := rng.Float64(c.r) < c.net.dropProb
	delay := c.net.minDelay + uint64(rng.IntN(c.r, int(c.net.maxDelay-c.net.minDelay+1)))
	if drop && c.now < c.net.gst {
		return
	}
	c.seq++
	e.at, e.seq = c.now+delay, c.seq
	heap.Push(&c.queue, e)
}

func (c *cluster) broadcast(from int, msg Message) {
	for to := range c.n {
		m := msg
		c.send(envelope{from: from, to: to, msg: &m})
	}
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

// minHonestHeight is the lowest application height among honest members (crashed ones included).
func (c *cluster) minHonestHeight() uint64 {
	h := uint64(1<<64 - 1)
	for _, n := range c.nodes {
		if n.honest() {
			h = min(h, n.height)
		}
	}
	return h
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

// answerStatus sends certificates for the heights a peer is missing (a few at a time).
func (c *cluster) answerStatus(n *simNode, peer int, h uint64) {
	if n.byz != nil && n.byz.silent() {
		return
	}
	for k := h; k < n.height && k < h+8; k++ {
		d := n.certs[k]
		c.send(envelope{from: n.id, to: peer, cert: &d})
	}
}

// receiveCert is the application's catch-up: a certificate of signed precommits for the height we are
// stuck at lets us apply that decision without the machine.
func (c *cluster) receiveCert(n *simNode, d Decision) {
	if CheckCertificate(d, c.n) != nil {
		return
	}
	for _, v := range d.Certificate {
		if !c.signed[keyOf(VoteMessage(v))] {
			return
		}
	}
	switch {
	case d.Height == n.height:
		c.apply(n, d)
	case d.Height > n.height:
		n.pending[d.Height] = d
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

// checkSigned asserts, for an honest member, that what it is about to send was persisted first and
// never conflicts with anything it signed before (across restarts). A message of a height the saved
// state has already left is fine: the machine can never sign at that height again.
func (c *cluster) checkSigned(n *simNode, msg Message) {
	if !n.honest() {
		return
	}
	d := n.disk
	persisted := d != nil && d.Height >= msg.Height()
	if persisted && d.Height == msg.Height() {
		if msg.Kind == KindVote {
			persisted = slices.Contains(d.LastSigned, msg.Vote)
		} else {
			persisted = slices.Contains(d.OwnProposals, msg.Proposal)
		}
	}
	if !persisted {
		c.t.Errorf("member %d sends %+v before persisting it", n.id, msg)
	}
	slot := slotOf(msg)
	if first, ok := c.slots[slot]; ok && !first.sameContent(msg) {
		c.t.Errorf("honest member %d signed conflicting messages: %+v and %+v", n.id, first, msg)
	} else if !ok {
		c.slots[slot] = msg
	}
}

// onDecision checks agreement and validity, then applies the decision.
func (c *cluster) onDecision(n *simNode, d Decision) {
	if err := CheckCertificate(d, c.n); err != nil {
		c.t.Errorf("member %d decided with a bad certificate: %v", n.id, err)
	}
	if n.honest() {
		if prev, ok := c.decided[d.Height]; ok && prev != d.Value {
			c.t.Errorf("SAFETY: height %d decided %x and %x (member %d)", d.Height, prev, d.Value, n.id)
		}
		c.decided[d.Height] = d.Value
		if !isValid(d.Value) || !c.proposed[d.Value] {
			c.t.Errorf("VALIDITY: member %d decided %s at height %d (valid=%v proposed=%v)", n.id, d.Value, d.Height, isValid(d.Value), c.proposed[d.Value])
		}
	}
	switch {
	case d.Height == n.height:
		c.apply(n, d)
	case d.Height < n.height && n.m != nil && n.m.Status().Height < n.height:
		// A restarted machine re-reported a decision the application had applied: move it on.
		n.startAt = c.now + 1
	}
}

// apply is the application applying the decision of its current height and moving to the next.
func (c *cluster) apply(n *simNode, d Decision) {
	if n.honest() {
		if prev, ok := c.decided[d.Height]; ok && prev != d.Value {
			c.t.Errorf("SAFETY: member %d applies %x at height %d, decided was %x", n.id, d.Value, d.Height, prev)
		}
		c.decided[d.Height] = d.Value
	}
	n.certs[d.Height] = d
	n.height = d.Height + 1
	n.startAt = c.now + applyDelay
	n.propose = nil
	if next, ok := n.pending[n.height]; ok {
		delete(n.pending, n.height)
		c.apply(n, next)
	}
}

func (c *cluster) onEvidence(n *simNode, e Equivocation) {
	if !n.honest() {
		return
	}
	if c.nodes[e.Member].honest() {
		c.t.Errorf("member %d accused honest member %d: %+v", n.id, e.Member, e)
	}
	if e.First.sameContent(e.Second) || e.First.Sender() != e.Member || e.Second.Sender() != e.Member ||
		slotOf(e.First) != slotOf(e.Second) || !c.signed[keyOf(e.First)] || !c.signed[keyOf(e.Second)] {
		c.t.Errorf("member %d reported bogus evidence %+v", n.id, e)
	}
	c.evidence[e.Member]++
}

// crash stops a member for the given number of ticks; its in-flight messages are lost.
func (c *cluster) crash(n *simNode, ticks uint64) {
	n.m = nil
	n.propose = nil
	n.startAt = 0
	n.downTil = c.now + ticks
}

// restart rebuilds a member from what it persisted: the machine's state and the application's decisions.
func (c *cluster) restart(n *simNode) {
	n.downTil = 0
	n.restarts++
	m, err := New(n.cfg, n.disk)
	if err != nil {
		c.t.Fatalf("member %d cannot restart: %v", n.id, err)
	}
	n.m = m
	if n.disk == nil || n.disk.Height < n.height {
		if err := m.StartHeight(n.height); err != nil {
			c.t.Fatalf("member %d StartHeight after restart: %v", n.id, err)
		}
	}
}
