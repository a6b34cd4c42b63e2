package consensus

import (
	"math/rand/v2"

	"github.com/byzpp/byzpp/algo/rng"
)

// strategy is the behaviour of a Byzantine member. It runs an honest machine inside (so it knows the
// height and attempt) and decides what actually goes out. It can only sign in its own name.
type strategy interface {
	name() string
	// send is called for each message the inner machine wants broadcast.
	send(c *cluster, n *simNode, msg Message)
	// tick lets the member act on its own every tick.
	tick(c *cluster, n *simNode)
	// value is what it proposes when its inner machine asks for a value.
	value(c *cluster, n *simNode, h uint64, r uint32) ValueID
	// silent members send nothing at all (no catch-up answers either).
	silent() bool
}

// honestParts gives default behaviour for strategies that only change one thing.
type honestParts struct{}

func (honestParts) send(c *cluster, n *simNode, msg Message) {
	c.sign(n.id, msg)
	c.broadcast(n.id, msg)
}
func (honestParts) tick(*cluster, *simNode) {}
func (honestParts) value(_ *cluster, n *simNode, h uint64, r uint32) ValueID {
	return validValue(h, r, n.id, 0)
}
func (honestParts) silent() bool { return false }

// silentMember never sends anything (a crashed or muted leader).
type silentMember struct{ honestParts }

func (silentMember) name() string                     { return "silent" }
func (silentMember) send(*cluster, *simNode, Message) {}
func (silentMember) silent() bool                     { return true }

// equivocatingLeader proposes one valid value to even members and another to odd members, and votes
// for whichever it is asked by its inner machine (honestly).
type equivocatingLeader struct{ honestParts }

func (equivocatingLeader) name() string { return "equivocating-leader" }
func (equivocatingLeader) send(c *cluster, n *simNode, msg Message) {
	c.sign(n.id, msg)
	if msg.Kind != KindProposal {
		c.broadcast(n.id, msg)
		return
	}
	other := msg
	other.Proposal.Value = validValue(msg.Proposal.Height, msg.Proposal.Round, n.id, 1)
	other.Proposal.POLRound = -1
	c.sign(n.id, other)
	for to := range c.n {
		m := msg
		if to%2 == 1 {
			m = other
		}
		c.send(envelope{from: n.id, to: to, msg: &m})
	}
}

// invalidLeader proposes values honest members reject.
type invalidLeader struct{ honestParts }

func (invalidLeader) name() string { return "invalid-leader" }
func (invalidLeader) value(_ *cluster, n *simNode, h uint64, r uint32) ValueID {
	return invalidValue(h, r, n.id)
}

// doubleVoter sends every vote together with a conflicting one, in a different order to each half.
type doubleVoter struct{ honestParts }

func (doubleVoter) name() string { return "double-voter" }
func (doubleVoter) send(c *cluster, n *simNode, msg Message) {
	c.sign(n.id, msg)
	if msg.Kind != KindVote || msg.Rebroadcast {
		c.broadcast(n.id, msg)
		return
	}
	other := msg
	if msg.Vote.Value.IsNil() {
		other.Vote.Value = validValue(msg.Vote.Height, msg.Vote.Round, n.id, 2)
	} else {
		other.Vote.Value = ValueID{}
	}
	c.sign(n.id, other)
	for to := range c.n {
		a, b := msg, other
		if to%2 == 1 {
			a, b = b, a
		}
		c.send(envelope{from: n.id, to: to, msg: &a})
		c.send(envelope{from: n.id, to: to, msg: &b})
	}
}

// randomVoter ignores its machine's votes and, every tick, may send a random prevote or precommit
// (for nil, a value proposed at this height or a fresh one) at its height and attempt or the next,
// with a different value to each recipient. As leader it proposes random, possibly invalid values,
// again different per recipient.
type randomVoter struct {
	honestParts
	r *rand.Rand
}

func newRandomVoter(seed uint64, member int) *randomVoter {
	return &randomVoter{r: rng.New(seed, 0, rng.Attack, uint64(member))}
}

func (*randomVoter) name() string { return "random-voter" }

func (s *randomVoter) pick(c *cluster, h uint64, r uint32, member int) ValueID {
	vals := c.valuesAt[h]
	switch k := rng.IntN(s.r, 4); {
	case k == 0:
		return ValueID{}
	case k == 1 && len(vals) > 0:
		return vals[rng.IntN(s.r, len(vals))]
	case k == 2:
		return invalidValue(h, r, member)
	default:
		return validValue(h, r, member, byte(3+rng.IntN(s.r, 3)))
	}
}

func (s *randomVoter) send(c *cluster, n *simNode, msg Message) {
	if msg.Kind != KindProposal {
		return
	}
	for to := range c.n {
		m := msg
		if v := s.pick(c, msg.Proposal.Height, msg.Proposal.Round, n.id); !v.IsNil() {
			m.Proposal.Value = v
		}
		c.sign(n.id, m)
		c.send(envelope{from: n.id, to: to, msg: &m})
	}
}

func (s *randomVoter) tick(c *cluster, n *simNode) {
	if !rng.Bernoulli(s.r, 0.3) {
		return
	}
	st := n.m.Status()
	typ := Prevote
	if rng.Bernoulli(s.r, 0.5) {
		typ = Precommit
	}
	round := st.Round + uint32(rng.IntN(s.r, 2))
	for to := range c.n {
		v := Vote{Type: typ, Height: st.Height, Round: round, Value: s.pick(c, st.Height, round, n.id), Voter: n.id}
		m := VoteMessage(v)
		c.sign(n.id, m)
		c.send(envelope{from: n.id, to: to, msg: &m})
	}
}

// roundSpammer behaves honestly but also floods votes for far attempts and future heights (the
// go-ibft "+1 round" attacks): f of them must not drag correct members to other attempts or make them
// buffer without bound.
type roundSpammer struct {
	honestParts
	r *rand.Rand
}

func newRoundSpammer(seed uint64, member int) *roundSpammer {
	return &roundSpammer{r: rng.New(seed, 1, rng.Attack, uint64(member))}
}

func (*roundSpammer) name() string { return "round-spammer" }

func (s *roundSpammer) tick(c *cluster, n *simNode) {
	st := n.m.Status()
	for range 3 {
		v := Vote{Type: Prevote, Height: st.Height + uint64(rng.IntN(s.r, 3)), Round: st.Round + 1 + uint32(rng.IntN(s.r, 40)),
			Value: validValue(st.Height, st.Round, n.id, byte(rng.IntN(s.r, 200))), Voter: n.id}
		if rng.Bernoulli(s.r, 0.5) {
			v.Type = Precommit
		}
		m := VoteMessage(v)
		c.sign(n.id, m)
		c.broadcast(n.id, m)
	}
}

// coalition is a coordinated, omniscient attack by all Byzantine members on a fixed split of the
// correct ones into X and Y. It ignores its members' own machines and, for every attempt a correct
// member is in, sends once: in an attempt a coalition member leads, proposal A to X and B to Y,
// prevotes for A to X and B to Y, precommits for A to one member of X only (so it alone decides while
// the rest of X stays locked on A) and for B to Y; in an attempt a correct member leads, prevotes and
// precommits for that proposal to everyone, to help any quorum form. Against a correct machine this
// only delays decisions; a too-small quorum or a forgotten lock (line 23) lets it make correct members
// decide two values, and TestClusterSplitBrainCoalition catches both mutations.
type coalition struct {
	honestParts
	inX    []bool
	first  int // the one member of X that receives the coalition's precommits for A
	member []bool
	sent   map[[2]uint64]bool // (height, round) attacked
}

// newCoalition splits the honest members (those not in byz) alternately into X and Y.
func newCoalition(n int, byz []int) *coalition {
	co := &coalition{inX: make([]bool, n), member: make([]bool, n), first: -1, sent: make(map[[2]uint64]bool)}
	for _, b := range byz {
		co.member[b] = true
	}
	k := 0
	for i := range n {
		if co.member[i] {
			continue
		}
		if k%2 == 0 {
			co.inX[i] = true
			if co.first < 0 {
				co.first = i
			}
		}
		k++
	}
	return co
}

func (*coalition) name() string                     { return "coalition" }
func (*coalition) send(*cluster, *simNode, Message) {}

// tick is called for every coalition member; the first one to see an attempt attacks it on behalf of
// all of them.
func (co *coalition) tick(c *cluster, _ *simNode) {
	for _, target := range c.nodes {
		if !target.honest() || target.m == nil {
			continue
		}
		st := target.m.Status()
		key := [2]uint64{st.Height, uint64(st.Round)}
		if co.sent[key] {
			continue
		}
		if co.attack(c, st.Height, st.Round) {
			co.sent[key] = true
		}
	}
}

// attack sends the coalition's messages for (h, r) and reports whether it could (a correct leader's
// value must be known first).
func (co *coalition) attack(c *cluster, h uint64, r uint32) bool {
	leader := c.nodes[0].cfg.Proposer(h, r)
	split := co.member[leader]
	a, b := validValue(h, r, leader, 0), validValue(h, r, leader, 1)
	if !split {
		vals := c.proposals[[2]uint64{h, uint64(r)}]
		if len(vals) == 0 {
			return false
		}
		a, b = vals[0], vals[0]
	}
	emit := func(from, to int, msg Message) {
		c.sign(from, msg)
		c.send(envelope{from: from, to: to, msg: &msg})
	}
	for to := range c.n {
		if co.member[to] {
			continue
		}
		v := b
		if co.inX[to] {
			v = a
		}
		if split {
			emit(leader, to, ProposalMessage(Proposal{Height: h, Round: r, POLRound: -1, Value: v, Proposer: leader}))
		}
		for from := range c.n {
			if !co.member[from] {
				continue
			}
			emit(from, to, VoteMessage(Vote{Type: Prevote, Height: h, Round: r, Value: v, Voter: from}))
			pcv := v
			if split && co.inX[to] && to != co.first {
				pcv = ValueID{}
			}
			emit(from, to, VoteMessage(Vote{Type: Precommit, Height: h, Round: r, Value: pcv, Voter: from}))
		}
	}
	return true
}
