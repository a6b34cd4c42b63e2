package consensus

import "fmt"

// StepProposal delivers a proposal whose signature the caller has checked. valid is the application's
// verdict on p.Value (valid(v) in Algorithm 1: it re-derived the value and got the same ID). A proposal
// first delivered with valid=false may be delivered again with valid=true once the application can
// check it; the reverse is ignored. For a future height the verdict is ignored: the proposal comes back
// in Ready.Validate when that height starts. A non-nil error means the proposal was dropped (or, with
// ErrEquivocation, kept as evidence); it is informational.
func (m *Machine) StepProposal(p Proposal, valid bool) error {
	if err := m.checkProposal(p); err != nil {
		return err
	}
	msg := ProposalMessage(p)
	if current, err := m.classify(msg); !current {
		return err
	}
	if !m.hlog.admit(p.Proposer, p.Round, m.round) {
		return fmt.Errorf("%w: member %d, round %d", ErrRoundTooFar, p.Proposer, p.Round)
	}
	l := m.hlog.roundOrNew(p.Round)
	for i, sp := range l.proposals {
		if sp.p != p {
			continue
		}
		if valid && !sp.valid {
			l.proposals[i].valid = true
			m.afterInput(p.Round)
			return nil
		}
		return ErrDuplicate // common under gossip: not worth formatting
	}
	if len(l.proposals) > 0 {
		// A different proposal from the leader of this attempt. Keep it too (up to
		// maxProposalsPerRound) so that lines 36 and 49 can still act if the members settle on it;
		// lines 22 and 28 act on proposals in arrival order, so the first stays the one prevoted.
		m.recordEquivocation(p.Proposer, p.Round, ProposalMessage(l.proposals[0].p), msg)
		if len(l.proposals) < maxProposalsPerRound {
			l.proposals = append(l.proposals, storedProposal{p: p, valid: valid})
		}
		m.afterInput(p.Round)
		return fmt.Errorf("%w: two proposals from member %d at %d/%d", ErrEquivocation, p.Proposer, p.Height, p.Round)
	}
	l.proposals = append(l.proposals, storedProposal{p: p, valid: valid})
	l.markSender(p.Proposer)
	m.afterInput(p.Round)
	return nil
}

// StepVote delivers a vote whose signature the caller has checked. Errors are informational, as for
// StepProposal.
func (m *Machine) StepVote(v Vote) error {
	if err := m.checkVote(v); err != nil {
		return err
	}
	msg := VoteMessage(v)
	if current, err := m.classify(msg); !current {
		return err
	}
	if !m.hlog.admit(v.Voter, v.Round, m.round) {
		return fmt.Errorf("%w: member %d, round %d", ErrRoundTooFar, v.Voter, v.Round)
	}
	l := m.hlog.roundOrNew(v.Round)
	set := l.votes(v.Type)
	if set.hasFirst[v.Voter] {
		if set.voted(v.Voter, v.Value) {
			return ErrDuplicate // common under gossip: not worth formatting
		}
		m.recordEquivocation(v.Voter, v.Round, VoteMessage(set.first[v.Voter]), msg)
		// The conflicting vote still counts towards its own value if a rule can use it (see voteSet).
		if m.hlog.matters(v.Type, v.Round, v.Value) {
			set.addExtra(v)
			m.afterInput(v.Round)
		}
		return fmt.Errorf("%w: conflicting %ss from member %d at %d/%d", ErrEquivocation, v.Type, v.Voter, v.Height, v.Round)
	}
	set.add(v)
	l.markSender(v.Voter)
	m.afterInput(v.Round)
	return nil
}

func (m *Machine) checkProposal(p Proposal) error {
	switch {
	case p.Proposer < 0 || p.Proposer >= m.cfg.N:
		return fmt.Errorf("%w: proposer %d outside 0..%d", ErrBadMessage, p.Proposer, m.cfg.N-1)
	case p.Round > maxRound:
		return fmt.Errorf("%w: round %d too large", ErrBadMessage, p.Round)
	case p.POLRound < -1 || p.POLRound >= int32(p.Round):
		return fmt.Errorf("%w: POLRound %d with round %d", ErrBadMessage, p.POLRound, p.Round)
	case p.Value.IsNil():
		return fmt.Errorf("%w: proposal of the nil value", ErrBadMessage)
	case p.Proposer == m.cfg.Self:
		return fmt.Errorf("%w: proposal %d/%d", ErrFromSelf, p.Height, p.Round)
	case m.proposer(p.Height, p.Round) != p.Proposer:
		return fmt.Errorf("%w: member %d at %d/%d", ErrNotProposer, p.Proposer, p.Height, p.Round)
	}
	return nil
}

func (m *Machine) checkVote(v Vote) error {
	switch {
	case v.Type != Prevote && v.Type != Precommit:
		return fmt.Errorf("%w: vote type %d", ErrBadMessage, v.Type)
	case v.Voter < 0 || v.Voter >= m.cfg.N:
		return fmt.Errorf("%w: voter %d outside 0..%d", ErrBadMessage, v.Voter, m.cfg.N-1)
	case v.Round > maxRound:
		return fmt.Errorf("%w: round %d too large", ErrBadMessage, v.Round)
	case v.Voter == m.cfg.Self:
		// Our own votes are already in the log; an echo from gossip adds nothing.
		return fmt.Errorf("%w: %s %d/%d", ErrFromSelf, v.Type, v.Height, v.Round)
	}
	return nil
}

// classify reports whether msg belongs to the current height. Otherwise it buffers msg (a future
// height, or any height before the first StartHeight) or rejects it, and returns why.
func (m *Machine) classify(msg Message) (current bool, err error) {
	h := msg.Height()
	if m.started && h == m.height {
		return true, nil
	}
	if h < m.height {
		return false, ErrOldHeight // common after every height: not worth formatting
	}
	if h-m.height > m.cfg.MaxFutureHeights {
		return false, fmt.Errorf("%w: %s for height %d, at %d", ErrTooFarAhead, msg.Kind, h, m.height)
	}
	s := msg.Sender()
	for _, b := range m.future[s] {
		if b.sameContent(msg) {
			return false, ErrDuplicate
		}
	}
	if len(m.future[s]) >= m.cfg.FutureBufferPerSender {
		return false, fmt.Errorf("%w: member %d", ErrBufferFull, s)
	}
	msg.Rebroadcast = false
	m.future[s] = append(m.future[s], msg)
	return false, nil
}

// recordEquivocation reports the first evidence against member at this height.
func (m *Machine) recordEquivocation(member int, round uint32, first, second Message) {
	if m.hlog.faulty[member] {
		return
	}
	m.hlog.faulty[member] = true
	m.evidence = append(m.evidence, Equivocation{Member: member, Height: m.height, Round: round, First: first, Second: second})
	m.log.Warn("equivocation", "height", m.height, "round", round, "member", member, "kind", first.Kind)
}
