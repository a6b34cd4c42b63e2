package consensus

import (
	"encoding/binary"
	"slices"
)

// The test cluster's application: what node/ must do around the machine (persist before sending,
// apply decisions, catch up from certificates, restart from saved state), plus the checks every
// scenario relies on — agreement, validity, no conflicting signatures, persistence before sending,
// evidence only against Byzantine members.

// Timings of the test application.
const (
	proposeDelay = 2 // ticks the leader's application takes to build a value
	applyDelay   = 1 // ticks to apply a decision before StartHeight(h+1)
)

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
