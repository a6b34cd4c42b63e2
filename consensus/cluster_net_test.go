package consensus

import (
	"container/heap"
	"slices"

	"github.com/byzpp/byzpp/algo/rng"
)

// The simulated network of the test cluster: a seeded scheduler that delays, reorders and drops
// messages (and partitions members) until a global stabilisation time, after which every message
// arrives within maxDelay ticks. Signatures are modelled by a registry of what each member signed: a
// message is delivered only if its claimed author signed it, so Byzantine members can lie about
// everything except who they are.

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
