package consensus

// This file holds the upon-rules of Algorithm 1 of "The latest gossip on BFT consensus" (Buchman, Kwon,
// Milošević, 2018, arXiv:1807.04938). Line numbers refer to that listing. Each input (message, tick,
// value) is followed by re-evaluating the rules it can enable until none fires, which realises the
// paper's "upon" semantics: a rule fires as soon as its condition holds on the message log.

// startRound is StartRound(round), lines 11–21.
func (m *Machine) startRound(r uint32) {
	m.round = r // line 12
	m.step = StepPropose
	m.prevoteTimeoutSet, m.lockRuleFired, m.precommitTimeoutSet = false, false, false
	m.needValue, m.awaitingValue = nil, false
	m.dirty()
	m.log.Debug("start round", "height", m.height, "round", r)
	// Line 21 schedules timeoutPropose only when we do not lead. Here getValue() (line 18) is
	// asynchronous, so the leader schedules it too: if the application never supplies a value, we still
	// prevote nil instead of blocking the attempt. Once we have proposed (and so prevoted, via our own
	// proposal) the timeout finds step ≠ propose and does nothing, as in the paper.
	m.schedule(onTimeoutPropose, r)
	if m.proposer(m.height, r) != m.cfg.Self || m.proposedIn(r) {
		return
	}
	if !m.validValue.IsNil() { // lines 15–16
		m.broadcastProposal(m.validValue, m.validRound)
		return
	}
	m.needValue = &NeedValue{Height: m.height, Round: r} // line 18
	m.awaitingValue = true
}

// Propose answers Ready.NeedValue: v becomes our proposal for (h, r) (line 19 with validRound −1).
func (m *Machine) Propose(h uint64, r uint32, v ValueID) error {
	switch {
	case !m.started:
		return ErrNotStarted
	case v.IsNil():
		return ErrBadMessage
	case m.decision != nil || h != m.height || r != m.round || !m.awaitingValue || m.step != StepPropose:
		return ErrNotRequested
	}
	m.awaitingValue, m.needValue = false, nil
	m.broadcastProposal(v, -1)
	m.process()
	return nil
}

// afterInput runs the rules a new message of attempt r can enable.
func (m *Machine) afterInput(r uint32) {
	if !m.started || m.decision != nil {
		return
	}
	if m.tryDecide(r) { // line 49 holds for any attempt of the height
		return
	}
	if l := m.hlog.round(r); r > m.round && l != nil && l.nSenders >= m.weak { // line 55
		m.log.Debug("skip to round", "height", m.height, "from", m.round, "to", r)
		m.startRound(r)
	}
	m.process()
}

// process re-evaluates the rules of the current attempt until none fires.
func (m *Machine) process() {
	for m.started && m.decision == nil {
		if m.tryDecide(m.round) {
			return
		}
		if !m.roundRules() {
			return
		}
	}
}

// tryDecide is lines 49–51 for attempt r. Instead of moving to h+1 itself (lines 52–54) the machine
// reports the decision and waits for StartHeight, because the application must first apply it.
func (m *Machine) tryDecide(r uint32) bool {
	l := m.hlog.round(r)
	if l == nil || m.decision != nil {
		return false
	}
	for _, sp := range l.proposals {
		if !sp.valid || l.precommits.count(sp.p.Value) < m.quorum {
			continue
		}
		d := Decision{Height: m.height, Round: r, Value: sp.p.Value, Certificate: l.precommits.forValue(sp.p.Value)}
		m.decision = &d
		m.decisions = append(m.decisions, d)
		m.needValue, m.awaitingValue = nil, false
		m.dirty()
		m.log.Debug("decided", "height", m.height, "round", r, "value", d.Value)
		return true
	}
	return false
}

// roundRules evaluates lines 22–48 for the current attempt once and reports whether the state moved.
func (m *Machine) roundRules() bool {
	l := m.hlog.round(m.round)
	if l == nil {
		return false
	}
	if m.step == StepPropose && m.onProposal(l) {
		return true
	}
	// Line 34: 2f+1 prevotes of any kind, while step = prevote, for the first time.
	if m.step == StepPrevote && !m.prevoteTimeoutSet && l.prevotes.total >= m.quorum {
		m.prevoteTimeoutSet = true
		m.schedule(onTimeoutPrevote, m.round)
	}
	// Line 36: the proposal and 2f+1 prevotes for it, valid(v), step ≥ prevote, for the first time.
	if m.step >= StepPrevote && !m.lockRuleFired {
		for _, sp := range l.proposals {
			v := sp.p.Value
			if !sp.valid || l.prevotes.count(v) < m.quorum {
				continue
			}
			m.lockRuleFired = true
			if m.step == StepPrevote { // lines 37–41
				m.lockedValue, m.lockedRound = v, int32(m.round)
				m.signVote(Precommit, v)
				m.step = StepPrecommit
			}
			m.validValue, m.validRound = v, int32(m.round) // lines 42–43, also when not locking now
			m.dirty()
			m.log.Debug("valid value", "height", m.height, "round", m.round, "value", v, "locked", m.lockedRound == int32(m.round))
			return true
		}
	}
	// Line 44: 2f+1 nil prevotes while step = prevote.
	if m.step == StepPrevote && l.prevotes.count(ValueID{}) >= m.quorum {
		m.signVote(Precommit, ValueID{})
		m.step = StepPrecommit
		return true
	}
	// Line 47: 2f+1 precommits of any kind, for the first time (in any step).
	if !m.precommitTimeoutSet && l.precommits.total >= m.quorum {
		m.precommitTimeoutSet = true
		m.schedule(onTimeoutPrecommit, m.round)
	}
	// Not in Algorithm 1: 2f+1 nil precommits. No value can be decided in this attempt any more — the
	// members that can still precommit one are the others (n − (2f+1 − f) of them, fewer than 2f+1)
	// — so the precommit timeout could only end in the next attempt: start it now. Moving to a later
	// attempt is always safe (locks, not timing, keep decisions consistent); this saves a timeout
	// after every attempt whose leader was dead or whose proposal was refused.
	if l.precommits.count(ValueID{}) >= m.quorum && m.round < maxRound {
		m.log.Debug("nil precommit quorum: next attempt", "height", m.height, "round", m.round)
		m.startRound(m.round + 1)
		return true
	}
	return false
}

// onProposal is lines 22–33: prevote on the leader's proposal of the current attempt. Proposals are
// tried in arrival order, so of two from an equivocating leader the first that enables a rule wins.
func (m *Machine) onProposal(l *roundLog) bool {
	for _, sp := range l.proposals {
		p := sp.p
		if p.POLRound == -1 { // line 22
			if sp.valid && (m.lockedRound == -1 || m.lockedValue == p.Value || m.cfg.mutation == mutationIgnoreLock) { // line 23
				m.prevote(p.Value)
			} else {
				m.prevote(ValueID{})
			}
			return true
		}
		// Line 28: the proof of lock is 2f+1 prevotes for v in round vr < round_p (vr ≥ 0 and
		// vr < p.Round = round_p were checked on receipt).
		pol := m.hlog.round(uint32(p.POLRound))
		need := m.quorum
		if m.cfg.mutation == mutationWeakPOL {
			need = m.weak
		}
		if pol == nil || pol.prevotes.count(p.Value) < need {
			continue
		}
		if sp.valid && (m.lockedRound <= p.POLRound || m.lockedValue == p.Value) { // line 29
			m.prevote(p.Value)
		} else {
			m.prevote(ValueID{})
		}
		return true
	}
	return false
}

// prevote signs a prevote for v in the current attempt and moves to the prevote step.
func (m *Machine) prevote(v ValueID) {
	m.signVote(Prevote, v)
	m.step = StepPrevote
}

// signVote creates our vote, queues it for broadcast and counts it ourselves (a broadcast reaches the
// sender too). It refuses to sign a second vote of the same type in the same attempt, which, with
// persistence before sending, is what keeps a restarted member from equivocating.
func (m *Machine) signVote(t VoteType, v ValueID) {
	for _, o := range m.ownVotes {
		if o.Type == t && o.Round == m.round {
			m.log.Error("refusing to sign a second vote", "height", m.height, "round", m.round, "type", t, "signed", o.Value, "wanted", v)
			return
		}
	}
	vote := Vote{Type: t, Height: m.height, Round: m.round, Value: v, Voter: m.cfg.Self}
	m.ownVotes = append(m.ownVotes, vote)
	if t == Prevote {
		m.lastPrevote = &vote
	} else {
		m.lastPrecommit = &vote
	}
	m.msgs = append(m.msgs, VoteMessage(vote))
	l := m.hlog.roundOrNew(m.round)
	l.votes(t).add(vote)
	l.markSender(m.cfg.Self)
	m.dirty()
	m.log.Debug("vote", "height", m.height, "round", m.round, "type", t, "value", v)
}

// broadcastProposal is line 19; the proposal also enters our own log, as a broadcast reaches us too.
func (m *Machine) broadcastProposal(v ValueID, validRound int32) {
	p := Proposal{Height: m.height, Round: m.round, POLRound: validRound, Value: v, Proposer: m.cfg.Self}
	m.ownProposals = append(m.ownProposals, p)
	m.lastProposal = &p
	m.msgs = append(m.msgs, ProposalMessage(p))
	l := m.hlog.roundOrNew(m.round)
	l.proposals = append(l.proposals, storedProposal{p: p, valid: true})
	l.markSender(m.cfg.Self)
	m.dirty()
	m.log.Debug("propose", "height", m.height, "round", m.round, "value", v, "polRound", validRound)
}

func (m *Machine) proposedIn(r uint32) bool {
	for _, p := range m.ownProposals {
		if p.Round == r {
			return true
		}
	}
	return false
}
