package consensus

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// A randomized fault-schedule checker in the Twins / Jepsen style (issue 11). One seed draws a whole
// schedule up front — committee size, which members are Byzantine and how, which honest members may
// lose recent writes, crash/restart events, partitions that heal, and the network's loss, duplication
// and delay until a global stabilisation time (GST) — and a deterministic event loop (no goroutines,
// no wall clock, math/rand/v2 seeded per schedule) drives machines under it. After the run it checks:
//
//   - agreement: no two honest machines decide different values at a height;
//   - validity: every decided value was proposed by someone and is valid for the application (valid
//     values are exactly those in a known set);
//   - no honest member signs two different votes (or proposals) for one (height, attempt, type),
//     across all its incarnations — what a restarted member emits is recorded too;
//   - evidence of equivocation never names an honest member (Twins' shared identity is Byzantine);
//   - progress: after GST every honest machine decides a few more heights within a bounded number of
//     ticks.
//
// Faults. Honest members crash and restart from the last state they acknowledged saving, sometimes
// having saved but not sent a Ready (crash mid-Ready). An "amnesia-prone" honest member may instead
// restart from an OLDER saved state, as after a machine crash that lost background fsyncs; as the node
// does (node/amnesia.go), it then abstains — drops its own proposals and votes — at every height up to
// the highest one it signed at before the crash. Amnesia-prone members count against the fault budget
// with the Byzantine ones (an abstaining member is silent), so b + a ≤ f. Byzantine members are Twins
// (two honest-code machines with one identity, both sending), silent, selective (each message to a
// random subset), equivocating (each vote and proposal paired with a conflicting one to the others),
// or a lock-game coalition (split proposals, prevotes to chosen subsets, precommits to a single member,
// re-proposals with forged or real proofs of lock and the proof's prevotes sent again).

// fsByz is the behaviour of a Byzantine member.
type fsByz uint8

const (
	fsHonest fsByz = iota
	fsTwins
	fsSilent
	fsSelective
	fsEquivocator
	fsLockGame
)

func (b fsByz) String() string {
	return [...]string{"honest", "twins", "silent", "selective", "equivocator", "lockgame"}[b]
}

// Crash modes.
const (
	crashClean = iota // between Readies: restarts from the latest save
	crashMid          // after saving a Ready's state, before sending its messages
	crashOlder        // restarts from an older save (lost fsyncs): amnesiac
)

// fsEvent is one scheduled fault.
type fsEvent struct {
	At   uint64
	Kind string // "crash" or "partition"
	// crash
	Inst, Mode, Back int // instance, crash mode, saves lost (crashOlder)
	Down             uint64
	// partition
	Until  uint64
	Groups [][]int // of instances
}

func (e fsEvent) String() string {
	if e.Kind == "partition" {
		return fmt.Sprintf("t=%d partition %v until t=%d", e.At, e.Groups, e.Until)
	}
	mode := [...]string{"clean", "mid-ready", "older"}[e.Mode]
	if e.Mode == crashOlder {
		mode += fmt.Sprintf(" (%d saves lost)", e.Back)
	}
	return fmt.Sprintf("t=%d crash inst %d %s, down %d", e.At, e.Inst, mode, e.Down)
}

// fsSchedule is everything a seed decides before the run.
type fsSchedule struct {
	Seed     uint64
	N, F     int
	Byz      []fsByz // per member
	Amnesiac []bool  // per member: may restart from an older save
	Twins    []int   // instance index → member, for the extra instances of Twins
	GST      uint64
	DropP    float64
	DupP     float64
	MaxDelay uint64 // before GST
	Events   []fsEvent
	Targets  uint64 // heights to decide after GST
	// noAbstain makes amnesiac members sign again at once (a broken harness knob: the checker must
	// then catch them signing conflicting votes).
	noAbstain bool
	// StatusEvery is the period of the applications' catch-up announcements (a lagging member
	// adopts the others' decision certificates); slow catch-up lets attempts run on after one
	// member decided.
	StatusEvery uint64
	// ByzLeaders makes Byzantine members lead half of the attempts (see fsProposer).
	ByzLeaders bool
	mutation   mutation
}

func (s *fsSchedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed=%d n=%d f=%d gst=%d drop=%.2f dup=%.2f delay≤%d status-every=%d byz-leaders=%v", s.Seed, s.N, s.F, s.GST, s.DropP, s.DupP, s.MaxDelay, s.StatusEvery, s.ByzLeaders)
	for i, k := range s.Byz {
		if k != fsHonest {
			fmt.Fprintf(&b, " byz%d=%s", i, k)
		}
		if s.Amnesiac[i] {
			fmt.Fprintf(&b, " amnesia-prone=%d", i)
		}
	}
	for i, m := range s.Twins {
		fmt.Fprintf(&b, " inst%d=twin-of-%d", s.N+i, m)
	}
	for _, e := range s.Events {
		if e.Kind == "heal" {
			continue
		}
		fmt.Fprintf(&b, "\n  %s", e)
	}
	return b.String()
}

var fsSizes = []int{4, 4, 4, 5, 5, 7, 7, 7, 10, 10, 20}

// drawSchedule builds the schedule of seed (n = 0: drawn from fsSizes).
func drawSchedule(seed uint64, n int) *fsSchedule {
	r := rand.New(rand.NewPCG(seed, 0x7477696e73)) // "twins"
	if n == 0 {
		n = fsSizes[r.IntN(len(fsSizes))]
	}
	f := (n - 1) / 3
	s := &fsSchedule{Seed: seed, N: n, F: f, Byz: make([]fsByz, n), Amnesiac: make([]bool, n), Targets: 3}
	b := f
	if r.IntN(3) == 0 {
		b = r.IntN(f + 1)
	}
	perm := r.Perm(n)
	lockGame := r.IntN(5) < 3 // the Byzantine members (mostly) form one coalition
	for _, m := range perm[:b] {
		k := fsByz(1 + r.IntN(5))
		if lockGame && r.IntN(4) != 0 {
			k = fsLockGame
		}
		s.Byz[m] = k
		if k == fsTwins {
			s.Twins = append(s.Twins, m)
		}
	}
	a := f - b
	if r.IntN(2) == 0 {
		a = r.IntN(f - b + 1)
	}
	for _, m := range perm[b : b+a] {
		s.Amnesiac[m] = true
	}
	s.GST = 50 + uint64(r.IntN(550))
	s.DropP = 0.3 * r.Float64()
	s.DupP = 0.1 * r.Float64()
	s.MaxDelay = 2 + uint64(r.IntN(14))
	s.StatusEvery = 16 << r.IntN(4)
	s.ByzLeaders = r.IntN(2) == 0
	insts := n + len(s.Twins)
	// Crashes of honest members (and of Twins instances: a Twin is honest code too).
	for range r.IntN(2 + n/2) {
		inst := r.IntN(insts)
		member := inst
		if inst >= n {
			member = s.Twins[inst-n]
		}
		if k := s.Byz[member]; k != fsHonest && k != fsTwins {
			continue
		}
		e := fsEvent{At: uint64(r.IntN(int(s.GST))), Kind: "crash", Inst: inst, Down: 5 + uint64(r.IntN(80))}
		e.Mode = r.IntN(2)
		if s.Amnesiac[member] && r.IntN(3) != 0 {
			e.Mode, e.Back = crashOlder, 1+r.IntN(4)
		}
		s.Events = append(s.Events, e)
	}
	// Amnesia-prone members lose recent saves in a crash or two.
	for _, m := range perm[b : b+a] {
		for range 1 + r.IntN(2) {
			s.Events = append(s.Events, fsEvent{At: uint64(r.IntN(int(s.GST))), Kind: "crash", Inst: m,
				Down: 5 + uint64(r.IntN(80)), Mode: crashOlder, Back: 1 + r.IntN(4)})
		}
	}
	// Partitions (sequential, each healing before the next and before GST).
	for at := uint64(r.IntN(100)); r.IntN(3) != 0 && at+10 < s.GST; {
		until := min(at+10+uint64(r.IntN(150)), s.GST)
		e := fsEvent{At: at, Kind: "partition", Until: until}
		groups := 2 + r.IntN(2)
		e.Groups = make([][]int, groups)
		for i, p := range r.Perm(insts) {
			g := i % groups
			if i >= groups {
				g = r.IntN(groups)
			}
			e.Groups[g] = append(e.Groups[g], p)
		}
		for _, g := range e.Groups {
			slices.Sort(g)
		}
		s.Events = append(s.Events, e, fsEvent{At: until, Kind: "heal"})
		at = until + uint64(r.IntN(80))
	}
	slices.SortStableFunc(s.Events, func(a, b fsEvent) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	return s
}

// fsDisk is one durable save: the machine's state and the application's height with it.
type fsDisk struct {
	ps  *PersistentState
	app uint64
}

type fsInst struct {
	idx, member int
	kind        fsByz
	cfg         Config
	m           *Machine // nil while down (and for lock-game members, which need none)
	saves       []fsDisk // most recent last, bounded
	app         uint64   // the application's height: the next one to decide
	certs       map[uint64]Decision
	pending     map[uint64]Decision
	startAt     uint64
	propose     *NeedValue
	propAt      uint64
	downTil     uint64
	crashMid    *fsEvent
	through     int64 // amnesia: abstain at heights ≤ through (−1: none)
	signedMax   int64 // highest height it ever emitted a signed message at
	incarnation int
}

func (i *fsInst) honest() bool { return i.kind == fsHonest }

type fsSim struct {
	s     *fsSchedule
	r     *rand.Rand
	now   uint64
	insts []*fsInst
	queue inflight
	seq   uint64
	side  []int // partition group per instance, nil when healed
	next  int   // next event

	known     map[ValueID]bool // values the application accepts
	proposed  map[ValueID]bool // values someone signed a proposal for
	proposals map[[2]uint64][]ValueID
	prevotes  map[[2]uint64][]Vote // every prevote signed (deduplicated), by (height, round)
	pvSeen    map[Vote]bool
	decided   map[uint64]ValueID
	slots     map[slotKey]Message // first message each honest member emitted in each slot
	attacked  map[[2]uint64]bool
	evidence  int
	amnesiac  int // restarts from an older save
	abstained int // messages amnesiac members withheld

	violations []string
	log        []string // notable happenings, for a failing seed's report
}

// fsProposer is the leader schedule: a hash of (seed, height, attempt); with s.ByzLeaders, a
// Byzantine member leads half of the attempts (Twins explores leader schedules as part of the fault
// schedule, since the dangerous ones need a faulty leader at the right moment).
func fsProposer(s *fsSchedule) func(uint64, uint32) int {
	var byz []int
	for i, k := range s.Byz {
		if k != fsHonest {
			byz = append(byz, i)
		}
	}
	seed, n, bias := s.Seed, s.N, s.ByzLeaders && len(byz) > 0
	return func(h uint64, r uint32) int {
		x := seed ^ (h * 0x9e3779b97f4a7c15) ^ (uint64(r)+1)*0xbf58476d1ce4e5b9
		x ^= x >> 31
		x *= 0x94d049bb133111eb
		x ^= x >> 29
		if bias && x&(1<<63) != 0 {
			return byz[(x>>1)%uint64(len(byz))]
		}
		return int(x % uint64(n))
	}
}

func newFsSim(s *fsSchedule) *fsSim {
	sim := &fsSim{
		s: s, r: rand.New(rand.NewPCG(s.Seed, 0x72756e)),
		known: make(map[ValueID]bool), proposed: make(map[ValueID]bool), proposals: make(map[[2]uint64][]ValueID),
		prevotes: make(map[[2]uint64][]Vote), pvSeen: make(map[Vote]bool), decided: make(map[uint64]ValueID),
		slots: make(map[slotKey]Message), attacked: make(map[[2]uint64]bool),
	}
	proposer := fsProposer(s)
	mk := func(idx, member int) {
		cfg := Config{
			Self: member, N: s.N, Proposer: proposer,
			Propose:          TimeoutConfig{Base: 12, Delta: 4},
			Prevote:          TimeoutConfig{Base: 6, Delta: 2},
			Precommit:        TimeoutConfig{Base: 6, Delta: 2},
			RebroadcastEvery: 10,
			MaxFutureHeights: 3,
			mutation:         s.mutation,
		}
		in := &fsInst{idx: idx, member: member, kind: s.Byz[member], cfg: cfg, through: -1, signedMax: -1,
			certs: make(map[uint64]Decision), pending: make(map[uint64]Decision)}
		if in.kind != fsLockGame {
			m, err := New(cfg, nil)
			if err != nil {
				panic(err)
			}
			in.m = m
		}
		sim.insts = append(sim.insts, in)
	}
	for i := range s.N {
		mk(i, i)
	}
	for k, m := range s.Twins {
		mk(s.N+k, m)
	}
	for _, in := range sim.insts {
		if in.m != nil {
			_ = in.m.StartHeight(0)
		}
	}
	return sim
}

func (sim *fsSim) violate(format string, args ...any) {
	msg := fmt.Sprintf("t=%d: ", sim.now) + fmt.Sprintf(format, args...)
	sim.violations = append(sim.violations, msg)
}

func (sim *fsSim) note(format string, args ...any) {
	if len(sim.log) < 200 {
		sim.log = append(sim.log, fmt.Sprintf("t=%d: ", sim.now)+fmt.Sprintf(format, args...))
	}
}

// value builds a valid value and registers it with the application.
func (sim *fsSim) value(h uint64, r uint32, proposer int, variant byte) ValueID {
	var v ValueID
	v[0] = 1
	binary.LittleEndian.PutUint64(v[1:], h)
	binary.LittleEndian.PutUint32(v[9:], r)
	v[13] = byte(proposer)
	v[14] = variant
	sim.known[v] = true
	return v
}

// --- network ---

func (sim *fsSim) cut(from, to int) bool {
	return sim.side != nil && sim.side[from] != sim.side[to]
}

// send queues e from instance from to instance to, subject to the schedule's faults; extra delays it
// further (a Byzantine member timing its messages).
func (sim *fsSim) send(from, to int, e envelope, extra uint64) {
	if from == to || sim.cut(from, to) {
		return
	}
	if e.msg != nil && sim.insts[from].member == sim.insts[to].member {
		return // a Twin's own identity: its machine would refuse it
	}
	pre := sim.now < sim.s.GST
	maxDelay := uint64(3)
	if pre {
		if sim.r.Float64() < sim.s.DropP {
			return
		}
		maxDelay = sim.s.MaxDelay
	}
	copies := 1
	if sim.r.Float64() < sim.s.DupP {
		copies = 2
	}
	for range copies {
		sim.seq++
		e.from, e.to = from, to
		e.at, e.seq = sim.now+1+uint64(sim.r.IntN(int(maxDelay)))+extra, sim.seq
		heap.Push(&sim.queue, e)
	}
}

func (sim *fsSim) broadcast(from int, msg Message) {
	for to := range sim.insts {
		m := msg
		sim.send(from, to, envelope{msg: &m}, 0)
	}
}

// recordSigned notes a message signed in member's name (by anyone) for the omniscient adversary and
// the validity check.
func (sim *fsSim) recordSigned(msg Message) {
	if msg.Kind == KindProposal {
		p := msg.Proposal
		sim.proposed[p.Value] = true
		k := [2]uint64{p.Height, uint64(p.Round)}
		if !slices.Contains(sim.proposals[k], p.Value) {
			sim.proposals[k] = append(sim.proposals[k], p.Value)
		}
		return
	}
	if v := msg.Vote; v.Type == Prevote && !v.Value.IsNil() && !sim.pvSeen[v] {
		sim.pvSeen[v] = true
		k := [2]uint64{v.Height, uint64(v.Round)}
		sim.prevotes[k] = append(sim.prevotes[k], v)
	}
}

func (sim *fsSim) deliver(e envelope) {
	in := sim.insts[e.to]
	if in.m == nil {
		return
	}
	switch {
	case e.msg != nil:
		if e.msg.Kind == KindProposal {
			_ = in.m.StepProposal(e.msg.Proposal, sim.known[e.msg.Proposal.Value])
		} else {
			_ = in.m.StepVote(e.msg.Vote)
		}
	case e.status != nil:
		if in.kind == fsHonest || in.kind == fsTwins {
			for k := *e.status; k < in.app && k < *e.status+8; k++ {
				d := in.certs[k]
				sim.send(in.idx, e.from, envelope{cert: &d}, 0)
			}
		}
	case e.cert != nil:
		d := *e.cert
		if CheckCertificate(d, sim.s.N) != nil {
			sim.violate("inst %d sent a bad certificate %+v", e.from, d)
			return
		}
		switch {
		case d.Height == in.app:
			sim.decide(in, d, "certificate")
		case d.Height > in.app:
			in.pending[d.Height] = d
		}
	}
}

// --- members ---

func (sim *fsSim) step() {
	sim.now++
	for sim.next < len(sim.s.Events) && sim.s.Events[sim.next].At <= sim.now {
		sim.fault(&sim.s.Events[sim.next])
		sim.next++
	}
	if sim.now == sim.s.GST {
		sim.side = nil
		for _, in := range sim.insts {
			in.crashMid = nil
		}
	}
	for sim.queue.Len() > 0 && sim.queue[0].at <= sim.now {
		sim.deliver(heap.Pop(&sim.queue).(envelope))
	}
	for _, in := range sim.insts {
		sim.tick(in)
	}
	for _, in := range sim.insts {
		sim.drain(in)
	}
}

func (sim *fsSim) fault(e *fsEvent) {
	switch e.Kind {
	case "partition":
		sim.side = make([]int, len(sim.insts))
		for g, members := range e.Groups {
			for _, i := range members {
				sim.side[i] = g
			}
		}
		sim.note("partition %v", e.Groups)
	case "heal":
		sim.side = nil
	case "crash":
		in := sim.insts[e.Inst]
		if in.m == nil {
			return
		}
		if e.Mode == crashMid {
			in.crashMid = e
			return
		}
		sim.crash(in, e)
	}
}

func (sim *fsSim) crash(in *fsInst, e *fsEvent) {
	in.m, in.propose, in.startAt, in.crashMid = nil, nil, 0, nil
	in.downTil = max(sim.now+1, min(sim.now+e.Down, sim.s.GST))
	lost := 0
	if e.Mode == crashOlder {
		lost = min(e.Back, len(in.saves))
		in.saves = in.saves[:len(in.saves)-lost]
		if lost > 0 {
			in.through = max(in.through, in.signedMax)
			sim.amnesiac++
		}
	}
	sim.note("crash inst %d (member %d) mode %d, %d saves lost, abstains through %d", in.idx, in.member, e.Mode, lost, in.through)
}

func (sim *fsSim) restart(in *fsInst) {
	in.downTil = 0
	in.incarnation++
	var ps *PersistentState
	in.app = 0
	if k := len(in.saves); k > 0 {
		ps, in.app = clonePS(in.saves[k-1].ps), in.saves[k-1].app
	}
	for h := range in.certs {
		if h >= in.app {
			delete(in.certs, h) // the application's writes were lost with the state's
		}
	}
	m, err := New(in.cfg, ps)
	if err != nil {
		sim.violate("inst %d cannot restart: %v", in.idx, err)
		return
	}
	in.m = m
	if ps == nil || ps.Height < in.app {
		_ = m.StartHeight(in.app)
	}
	sim.note("restart inst %d at app height %d", in.idx, in.app)
}

func clonePS(ps *PersistentState) *PersistentState {
	if ps == nil {
		return nil
	}
	c := *ps
	c.LastSigned = slices.Clone(ps.LastSigned)
	c.OwnProposals = slices.Clone(ps.OwnProposals)
	return &c
}

func (sim *fsSim) tick(in *fsInst) {
	if in.kind == fsLockGame {
		if in.member == sim.firstLockGamer() {
			sim.lockGame()
		}
		return
	}
	if in.m == nil {
		if in.downTil != 0 && sim.now >= in.downTil {
			sim.restart(in)
		}
		return
	}
	in.m.Tick()
	if in.propose != nil && sim.now >= in.propAt {
		nv := *in.propose
		in.propose = nil
		v := sim.value(nv.Height, nv.Round, in.member, byte(in.idx/sim.s.N)) // Twins propose different values
		_ = in.m.Propose(nv.Height, nv.Round, v)
	}
	if in.startAt != 0 && sim.now >= in.startAt {
		in.startAt = 0
		if err := in.m.StartHeight(in.app); err != nil {
			sim.violate("inst %d StartHeight(%d): %v", in.idx, in.app, err)
		}
	}
	if (in.kind == fsHonest || in.kind == fsTwins) && sim.now%sim.s.StatusEvery == uint64(in.idx)%sim.s.StatusEvery {
		h := in.app
		for to := range sim.insts {
			sim.send(in.idx, to, envelope{status: &h}, 0)
		}
	}
}

func (sim *fsSim) save(in *fsInst, ps *PersistentState) {
	if ps == nil && len(in.saves) > 0 {
		ps = in.saves[len(in.saves)-1].ps
	}
	in.saves = append(in.saves, fsDisk{ps: clonePS(ps), app: in.app})
	if len(in.saves) > 8 {
		in.saves = slices.Delete(in.saves, 0, 1)
	}
}

// drain handles an instance's Ready output as node/ does: persist, send (unless abstaining), apply.
func (sim *fsSim) drain(in *fsInst) {
	for in.m != nil && in.m.HasReady() {
		rd := in.m.Ready()
		if rd.Persist != nil {
			sim.save(in, rd.Persist)
			if in.crashMid != nil {
				sim.crash(in, in.crashMid)
				return
			}
		}
		for _, msg := range rd.Messages {
			sim.emit(in, msg)
		}
		if in.kind != fsSilent {
			for _, v := range rd.Relay {
				sim.broadcast(in.idx, VoteMessage(v))
			}
		}
		for _, d := range rd.Decisions {
			sim.decide(in, d, "machine")
		}
		for _, e := range rd.Evidence {
			sim.evidence++
			if in.honest() && sim.s.Byz[e.Member] == fsHonest {
				sim.violate("honest inst %d names honest member %d as equivocating: %+v", in.idx, e.Member, e)
			}
		}
		if rd.NeedValue != nil {
			nv := *rd.NeedValue
			in.propose, in.propAt = &nv, sim.now+2
		}
		in.m.Advance(rd)
		for _, p := range rd.Validate {
			_ = in.m.StepProposal(p, sim.known[p.Value])
		}
	}
}

// emit sends one message of an instance's machine, as its kind dictates.
func (sim *fsSim) emit(in *fsInst, msg Message) {
	h := int64(msg.Height())
	if h <= in.through && !sim.s.noAbstain {
		sim.abstained++
		return // amnesiac: it may have signed something else here before
	}
	in.signedMax = max(in.signedMax, h)
	msg.Rebroadcast = false
	if in.honest() {
		slot := slotOf(msg)
		if first, ok := sim.slots[slot]; !ok {
			sim.slots[slot] = msg
		} else if !first.sameContent(msg) {
			sim.violate("honest member %d (inst %d, incarnation %d) signed %+v after %+v", in.member, in.idx, in.incarnation, msg, first)
		}
	}
	sim.recordSigned(msg)
	switch in.kind {
	case fsHonest, fsTwins:
		sim.broadcast(in.idx, msg)
	case fsSilent:
	case fsSelective:
		for to := range sim.insts {
			if sim.r.IntN(2) == 0 {
				m := msg
				sim.send(in.idx, to, envelope{msg: &m}, 0)
			}
		}
	case fsEquivocator:
		other := msg
		if msg.Kind == KindProposal {
			other.Proposal.Value = sim.value(msg.Proposal.Height, msg.Proposal.Round, in.member, 0x40+byte(sim.r.IntN(4)))
			if sim.r.IntN(4) == 0 {
				other.Proposal.Value = invalidValue(msg.Proposal.Height, msg.Proposal.Round, in.member)
			}
			other.Proposal.POLRound = -1
		} else if msg.Vote.Value.IsNil() {
			vals := sim.proposals[[2]uint64{msg.Vote.Height, uint64(msg.Vote.Round)}]
			if len(vals) == 0 {
				sim.broadcast(in.idx, msg)
				return
			}
			other.Vote.Value = vals[sim.r.IntN(len(vals))]
		} else {
			other.Vote.Value = ValueID{}
		}
		sim.recordSigned(other)
		for to := range sim.insts {
			a, b := msg, other
			if sim.r.IntN(2) == 0 {
				a, b = b, a
			}
			sim.send(in.idx, to, envelope{msg: &a}, 0)
			if sim.r.IntN(2) == 0 {
				sim.send(in.idx, to, envelope{msg: &b}, 0)
			}
		}
	}
}

// decide checks a decision (from the machine or a certificate) and has the application apply it.
func (sim *fsSim) decide(in *fsInst, d Decision, how string) {
	if err := CheckCertificate(d, sim.s.N); err != nil {
		sim.violate("inst %d: decision by %s with a bad certificate: %v", in.idx, how, err)
	}
	if in.honest() {
		if prev, ok := sim.decided[d.Height]; ok && prev != d.Value {
			sim.violate("AGREEMENT: honest inst %d decides %x at height %d (round %d, by %s), another decided %x",
				in.idx, d.Value[:], d.Height, d.Round, how, prev[:])
		} else if !ok {
			sim.decided[d.Height] = d.Value
			sim.note("height %d decided %s by inst %d round %d (%s)", d.Height, d.Value, in.idx, d.Round, how)
		}
		if !sim.known[d.Value] || !sim.proposed[d.Value] {
			sim.violate("VALIDITY: honest inst %d decides %s at height %d (valid=%v proposed=%v)",
				in.idx, d.Value, d.Height, sim.known[d.Value], sim.proposed[d.Value])
		}
	}
	switch {
	case d.Height == in.app:
		in.certs[d.Height] = d
		in.app = d.Height + 1
		in.startAt = sim.now + 1
		in.propose = nil
		sim.save(in, nil)
		if next, ok := in.pending[in.app]; ok {
			delete(in.pending, in.app)
			sim.decide(in, next, "certificate")
		}
	case d.Height < in.app && in.m != nil && in.m.Status().Height < in.app:
		in.startAt = sim.now + 1 // a restarted machine re-reported an applied decision
	}
}

// --- the lock-game coalition ---

func (sim *fsSim) firstLockGamer() int {
	for i, k := range sim.s.Byz {
		if k == fsLockGame {
			return i
		}
	}
	return -1
}

// lockGame attacks every (height, attempt) an honest member is in, once, on behalf of all lock-game
// members: see attack.
func (sim *fsSim) lockGame() {
	for _, in := range sim.insts {
		if !in.honest() || in.m == nil {
			continue
		}
		st := in.m.Status()
		key := [2]uint64{st.Height, uint64(st.Round)}
		if !sim.attacked[key] && sim.attack(st.Height, st.Round) {
			sim.attacked[key] = true
		}
	}
}

// polCandidate picks a value prevoted in an earlier attempt of h, for a re-proposal with that attempt
// as its proof of lock; half the time only among those short of a quorum of prevotes (a forged proof
// that correct members must refuse). It reports false if there is none.
func (sim *fsSim) polCandidate(h uint64, r uint32) (ValueID, int32, bool) {
	type cand struct {
		v ValueID
		r uint32
	}
	var cands, short []cand
	count := make(map[cand]int)
	for rr := range r {
		for _, v := range sim.prevotes[[2]uint64{h, uint64(rr)}] {
			c := cand{v.Value, rr}
			if count[c] == 0 {
				cands = append(cands, c)
			}
			count[c]++
		}
	}
	for _, c := range cands {
		if count[c] < Quorum(sim.s.N) {
			short = append(short, c)
		}
	}
	if len(short) > 0 && sim.r.IntN(2) == 0 {
		cands = short
	}
	if len(cands) == 0 {
		return ValueID{}, -1, false
	}
	c := cands[sim.r.IntN(len(cands))]
	return c.v, int32(c.r), true
}

// attack sends the coalition's messages for (h, r): when a coalition member leads, proposals a to X
// and b to Y (fresh values or re-proposals with a proof-of-lock round, whose prevotes the coalition
// then sends again to everyone); prevotes a to X and b (or nil) to Y; precommits for a to a small
// subset only and nil to the others. Returns false while an honest leader's value is still unknown.
func (sim *fsSim) attack(h uint64, r uint32) bool {
	leader := sim.insts[0].cfg.Proposer(h, r)
	var gamers []int
	for i, k := range sim.s.Byz {
		if k == fsLockGame {
			gamers = append(gamers, i)
		}
	}
	// X gets a and Y gets b. Targeted (half the time): X holds exactly as many non-coalition members
	// as complete a quorum with the coalition, so that X can lock on a and the one member of X that
	// gets the coalition's precommits decide it while the others move on to the next attempt, where
	// the rest of X and Y form a quorum with the coalition on a fresh value or a re-proposal with a
	// proof of lock short of a quorum — unless locks and proof checks hold.
	inX := make([]bool, len(sim.insts))
	var outside []int // the members still working on h, to split (the coalition sees everything)
	for i, in := range sim.insts {
		if in.kind != fsLockGame && in.m != nil {
			if st := in.m.Status(); st.Height == h && !st.Decided {
				outside = append(outside, i)
			}
		}
	}
	targeted := sim.r.IntN(4) != 0
	if k := Quorum(sim.s.N) - len(gamers); targeted && k > 0 && k < len(outside) {
		sim.r.Shuffle(len(outside), func(i, j int) { outside[i], outside[j] = outside[j], outside[i] })
		for _, i := range outside[:k] {
			inX[i] = true
		}
	} else {
		targeted = false
		for i := range inX {
			inX[i] = sim.r.IntN(2) == 0
		}
	}
	var a, b ValueID
	polA, polB := int32(-1), int32(-1)
	if sim.s.Byz[leader] == fsLockGame {
		pick := func(variant byte) (ValueID, int32) {
			if sim.r.IntN(2) == 0 {
				if v, pr, ok := sim.polCandidate(h, r); ok {
					return v, pr
				}
			}
			if sim.r.IntN(8) == 0 {
				return invalidValue(h, r, leader), -1 // not in the application's set
			}
			return sim.value(h, r, leader, variant), -1
		}
		a, polA = pick(0x80)
		b, polB = a, polA
		if sim.r.IntN(4) != 0 {
			b, polB = pick(0x81)
		}
		for to := range sim.insts {
			p := Proposal{Height: h, Round: r, POLRound: polA, Value: a, Proposer: leader}
			if !inX[to] {
				p.POLRound, p.Value = polB, b
			}
			msg := ProposalMessage(p)
			sim.recordSigned(msg)
			sim.send(leader, to, envelope{msg: &msg}, 0)
		}
		// The proof's prevotes again, after the proposal, so that they count as well (matters).
		for _, pol := range []struct {
			v ValueID
			r int32
		}{{a, polA}, {b, polB}} {
			if pol.r < 0 {
				continue
			}
			for _, g := range gamers {
				sim.sendVote(g, Vote{Type: Prevote, Height: h, Round: uint32(pol.r), Value: pol.v, Voter: g}, nil, 2)
			}
		}
	} else {
		vals := sim.proposals[[2]uint64{h, uint64(r)}]
		if len(vals) == 0 {
			return false
		}
		a = vals[0]
		if sim.r.IntN(2) == 0 {
			if v, _, ok := sim.polCandidate(h, r+1); ok {
				b = v
			}
		}
	}
	// Precommits for a go to a few members only (sometimes a single one), nil to the rest.
	z := make([]bool, len(sim.insts))
	if targeted {
		z[outside[sim.r.IntN(Quorum(sim.s.N)-len(gamers))]] = true
	} else {
		for i := range z {
			z[i] = inX[i] && sim.r.IntN(3) == 0
		}
		z[sim.r.IntN(len(z))] = true
	}
	delay := uint64(sim.r.IntN(8))
	sim.note("attack h%d r%d leader %d targeted=%v X=%v z=%v a=%s/%d b=%s/%d", h, r, leader, targeted, inX, z, a, polA, b, polB)
	for _, g := range gamers {
		for to := range sim.insts {
			pv := Vote{Type: Prevote, Height: h, Round: r, Value: a, Voter: g}
			if !inX[to] {
				pv.Value = b
			}
			sim.sendVote(g, pv, []int{to}, delay)
			pc := Vote{Type: Precommit, Height: h, Round: r, Voter: g}
			if z[to] {
				pc.Value = a
			}
			sim.sendVote(g, pc, []int{to}, delay+uint64(sim.r.IntN(4)))
		}
	}
	return true
}

// sendVote signs v in its voter's name and sends it to the given instances (nil: everyone).
func (sim *fsSim) sendVote(from int, v Vote, to []int, delay uint64) {
	msg := VoteMessage(v)
	sim.recordSigned(msg)
	if to == nil {
		for i := range sim.insts {
			to = append(to, i)
		}
	}
	for _, t := range to {
		m := msg
		sim.send(from, t, envelope{msg: &m}, delay)
	}
}

// --- running a schedule ---

// fsResult is the outcome of one schedule.
type fsResult struct {
	s          *fsSchedule
	violations []string
	log        []string
	ticks      uint64
	heights    uint64 // heights decided by every honest member
	evidence   int
	amnesiac   int
	abstained  int
}

func (r fsResult) failed() bool { return len(r.violations) > 0 }

func (r fsResult) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schedule %s\nviolations:\n", r.s)
	for _, v := range r.violations {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	fmt.Fprintf(&b, "log:\n")
	for _, l := range r.log {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	return b.String()
}

// fsLivenessBound is how many ticks after GST every honest member gets to decide s.Targets more heights.
func fsLivenessBound(n int) uint64 { return 4000 + 300*uint64(n) }

// runSchedule runs s and checks it.
func runSchedule(s *fsSchedule) fsResult {
	sim := newFsSim(s)
	for sim.now < s.GST && len(sim.violations) == 0 {
		sim.step()
	}
	var base uint64
	for _, in := range sim.insts {
		if in.honest() {
			base = max(base, in.app)
		}
	}
	target := base + s.Targets
	end := sim.now + fsLivenessBound(s.N)
	done := func() bool {
		for _, in := range sim.insts {
			if in.honest() && in.app < target {
				return false
			}
		}
		return true
	}
	for !done() && sim.now < end && len(sim.violations) == 0 {
		sim.step()
	}
	if len(sim.violations) == 0 && !done() {
		var st []string
		for _, in := range sim.insts {
			if !in.honest() {
				continue
			}
			if in.m == nil {
				st = append(st, fmt.Sprintf("inst %d down", in.idx))
				continue
			}
			ms := in.m.Status()
			st = append(st, fmt.Sprintf("inst %d app %d machine h%d r%d %s locked %s@%d valid %s@%d through %d", in.idx, in.app,
				ms.Height, ms.Round, ms.Step, ms.LockedValue, ms.LockedRound, ms.ValidValue, ms.ValidRound, in.through))
		}
		sim.violate("LIVENESS: honest members did not all reach height %d within %d ticks after GST: %s",
			target, fsLivenessBound(s.N), strings.Join(st, "; "))
	}
	res := fsResult{s: s, violations: sim.violations, log: sim.log, ticks: sim.now, evidence: sim.evidence,
		amnesiac: sim.amnesiac, abstained: sim.abstained}
	res.heights = ^uint64(0)
	for _, in := range sim.insts {
		if in.honest() {
			res.heights = min(res.heights, in.app)
		}
	}
	return res
}
