package consensus

import (
	"fmt"
	"slices"
)

// PersistentState is what a member must keep on stable storage to restart without ever contradicting
// itself: its position, its lock and valid value (forgetting a lock could let it prevote against a
// value that may already be decided), and every proposal and vote it signed at the current height.
type PersistentState struct {
	Height       uint64
	Round        uint32
	Step         Step
	LockedValue  ValueID
	LockedRound  int32
	ValidValue   ValueID
	ValidRound   int32
	LastSigned   []Vote     // our votes at Height, in signing order
	OwnProposals []Proposal // our proposals at Height, in signing order
	Decision     *Decision  // set once Height is decided (until StartHeight moves on)
	// ProofOfLock is the others' prevotes for ValidValue in ValidRound, in voter order: what justifies
	// our valid value (and lock) to the others. A member that restarted used to keep its lock but not
	// this proof; when the members whose prevotes made it had lost them too (restarted from an older
	// save), no one could show it any more and the height stalled for good (found by the fault-
	// schedule checker, TestFaultSchedulesLostProofOfLock). Restored into the log and relayed.
	ProofOfLock []Vote
}

func (m *Machine) snapshot() PersistentState {
	ps := PersistentState{
		Height:       m.height,
		Round:        m.round,
		Step:         m.step,
		LockedValue:  m.lockedValue,
		LockedRound:  m.lockedRound,
		ValidValue:   m.validValue,
		ValidRound:   m.validRound,
		LastSigned:   slices.Clone(m.ownVotes),
		OwnProposals: slices.Clone(m.ownProposals),
	}
	if m.decision != nil {
		d := *m.decision
		d.Certificate = slices.Clone(d.Certificate)
		ps.Decision = &d
	}
	if m.validRound >= 0 {
		if l := m.hlog.round(uint32(m.validRound)); l != nil {
			for _, v := range l.prevotes.forValue(m.validValue) {
				if v.Voter != m.cfg.Self {
					ps.ProofOfLock = append(ps.ProofOfLock, v)
				}
			}
		}
	}
	return ps
}

// restore resumes from ps (see New). It rejects a state that Algorithm 1 could not have produced,
// since acting on a corrupted lock or vote record could make us equivocate.
func (m *Machine) restore(ps *PersistentState) error {
	if err := m.checkPersistent(ps); err != nil {
		return err
	}
	m.started = true
	m.height, m.round, m.step = ps.Height, ps.Round, ps.Step
	m.lockedValue, m.lockedRound = ps.LockedValue, ps.LockedRound
	m.validValue, m.validRound = ps.ValidValue, ps.ValidRound
	// Our own signed messages re-enter the log: they count towards quorums exactly as before.
	for _, v := range ps.LastSigned {
		vote := v
		m.ownVotes = append(m.ownVotes, vote)
		l := m.hlog.roundOrNew(vote.Round)
		l.votes(vote.Type).add(vote)
		l.markSender(m.cfg.Self)
		if vote.Type == Prevote {
			m.lastPrevote = &vote
		} else {
			m.lastPrecommit = &vote
		}
	}
	// The others' prevotes that prove our valid value: relayed by the rebroadcast below (relaySet).
	for _, v := range ps.ProofOfLock {
		l := m.hlog.roundOrNew(v.Round)
		if set := l.votes(Prevote); !set.hasFirst[v.Voter] {
			set.add(v)
			l.markSender(v.Voter)
		}
	}
	for _, p := range ps.OwnProposals {
		prop := p
		m.ownProposals = append(m.ownProposals, prop)
		m.lastProposal = &prop
		l := m.hlog.roundOrNew(prop.Round)
		l.proposals = append(l.proposals, storedProposal{p: prop, valid: true})
		l.markSender(m.cfg.Self)
	}
	m.log.Info("restored", "height", m.height, "round", m.round, "step", m.step,
		"lockedRound", m.lockedRound, "validRound", m.validRound, "signed", len(m.ownVotes))
	// Whatever was signed may have been saved but never sent.
	m.rebroadcast()
	if ps.Decision != nil {
		d := *ps.Decision
		d.Certificate = slices.Clone(d.Certificate)
		m.decision = &d
		m.decisions = append(m.decisions, d) // the application may not have applied it yet
		return nil
	}
	// The timers of the interrupted attempt were lost; re-arm the one of the current step that does
	// not depend on messages (lines 34 and 47 re-arm themselves as votes arrive again).
	if m.step == StepPropose {
		m.schedule(onTimeoutPropose, m.round)
		if m.proposer(m.height, m.round) == m.cfg.Self && !m.proposedIn(m.round) {
			if !m.validValue.IsNil() {
				m.broadcastProposal(m.validValue, m.validRound)
			} else {
				m.needValue = &NeedValue{Height: m.height, Round: m.round}
				m.awaitingValue = true
			}
		}
	}
	m.process()
	return nil
}

// checkPersistent verifies the invariants Algorithm 1 maintains between the persisted fields.
func (m *Machine) checkPersistent(ps *PersistentState) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadPersistence}, args...)...)
	}
	switch {
	case ps.Round > maxRound:
		return bad("round %d too large", ps.Round)
	case ps.Step > StepPrecommit:
		return bad("step %d", ps.Step)
	case ps.LockedRound < -1 || ps.LockedRound > int32(ps.Round):
		return bad("lockedRound %d with round %d", ps.LockedRound, ps.Round)
	case ps.ValidRound < -1 || ps.ValidRound > int32(ps.Round):
		return bad("validRound %d with round %d", ps.ValidRound, ps.Round)
	case (ps.LockedRound == -1) != ps.LockedValue.IsNil():
		return bad("lockedRound %d with lockedValue %s", ps.LockedRound, ps.LockedValue)
	case (ps.ValidRound == -1) != ps.ValidValue.IsNil():
		return bad("validRound %d with validValue %s", ps.ValidRound, ps.ValidValue)
	case ps.ValidRound < ps.LockedRound:
		return bad("validRound %d below lockedRound %d", ps.ValidRound, ps.LockedRound)
	// Lines 36–43 set lockedRound and validRound to round_p only at step ≥ prevote (and lock while
	// precommitting); StartRound (line 13) only enters step propose with both below the new round.
	case ps.ValidRound == int32(ps.Round) && ps.Step < StepPrevote:
		return bad("validRound %d is the current round at step %s", ps.ValidRound, ps.Step)
	case ps.LockedRound == int32(ps.Round) && ps.Step != StepPrecommit:
		return bad("lockedRound %d is the current round at step %s", ps.LockedRound, ps.Step)
	}
	seen := make(map[[2]uint32]bool)
	for _, v := range ps.LastSigned {
		switch {
		case v.Height != ps.Height || v.Voter != m.cfg.Self:
			return bad("signed vote %d/%d by %d, state is height %d member %d", v.Height, v.Round, v.Voter, ps.Height, m.cfg.Self)
		case v.Type != Prevote && v.Type != Precommit:
			return bad("signed vote of type %d", v.Type)
		case v.Round > ps.Round:
			return bad("signed vote in round %d after state round %d", v.Round, ps.Round)
		case seen[[2]uint32{v.Round, uint32(v.Type)}]:
			return bad("two signed %ss in round %d", v.Type, v.Round)
		case v.Round == ps.Round && v.Type == Prevote && ps.Step < StepPrevote,
			v.Round == ps.Round && v.Type == Precommit && ps.Step < StepPrecommit:
			return bad("signed %s in round %d but step is %s", v.Type, v.Round, ps.Step)
		case v.Type == Precommit && !v.Value.IsNil() && ps.LockedRound < int32(v.Round):
			return bad("precommitted a value in round %d but lockedRound is %d", v.Round, ps.LockedRound)
		}
		seen[[2]uint32{v.Round, uint32(v.Type)}] = true
	}
	proposed := make(map[uint32]bool)
	for _, p := range ps.OwnProposals {
		switch {
		case p.Height != ps.Height || p.Proposer != m.cfg.Self:
			return bad("own proposal %d/%d by %d", p.Height, p.Round, p.Proposer)
		case p.Round > ps.Round || proposed[p.Round]:
			return bad("own proposal in round %d (state round %d)", p.Round, ps.Round)
		case p.Value.IsNil() || p.POLRound < -1 || p.POLRound >= int32(p.Round):
			return bad("own proposal in round %d is malformed", p.Round)
		}
		proposed[p.Round] = true
	}
	polVoter := make(map[int]bool)
	for _, v := range ps.ProofOfLock {
		switch {
		case v.Type != Prevote || v.Height != ps.Height || ps.ValidRound < 0 || v.Round != uint32(ps.ValidRound) || v.Value != ps.ValidValue:
			return bad("proof-of-lock vote %s %d/%d for %s, valid value %s in round %d", v.Type, v.Height, v.Round, v.Value, ps.ValidValue, ps.ValidRound)
		case v.Voter < 0 || v.Voter >= m.cfg.N || v.Voter == m.cfg.Self || polVoter[v.Voter]:
			return bad("proof-of-lock voter %d", v.Voter)
		}
		polVoter[v.Voter] = true
	}
	if d := ps.Decision; d != nil {
		if d.Height != ps.Height || d.Value.IsNil() {
			return bad("decision for height %d value %s in state of height %d", d.Height, d.Value, ps.Height)
		}
		if err := CheckCertificate(*d, m.cfg.N); err != nil {
			return bad("decision certificate: %v", err)
		}
	}
	return nil
}

// CheckCertificate verifies the structure of a decision certificate for a committee of n members:
// at least ⌊2n/3⌋+1 precommits from distinct members, all for d.Value at (d.Height, d.Round).
// Signatures are the caller's business.
func CheckCertificate(d Decision, n int) error {
	voted := make([]bool, n)
	count := 0
	for _, v := range d.Certificate {
		switch {
		case v.Type != Precommit || v.Height != d.Height || v.Round != d.Round || v.Value != d.Value:
			return fmt.Errorf("%w: certificate vote %s %d/%d for %s does not match decision %d/%d %s",
				ErrBadMessage, v.Type, v.Height, v.Round, v.Value, d.Height, d.Round, d.Value)
		case v.Voter < 0 || v.Voter >= n:
			return fmt.Errorf("%w: certificate voter %d outside 0..%d", ErrBadMessage, v.Voter, n-1)
		case voted[v.Voter]:
			return fmt.Errorf("%w: certificate has two votes of member %d", ErrBadMessage, v.Voter)
		}
		voted[v.Voter] = true
		count++
	}
	if count < Quorum(n) || d.Value.IsNil() {
		return fmt.Errorf("%w: certificate has %d precommits for %s, need %d", ErrBadMessage, count, d.Value, Quorum(n))
	}
	return nil
}
