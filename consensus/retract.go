package consensus

import (
	"errors"
	"fmt"
	"slices"
)

// ErrNotHeld is returned by Retract for a vote the machine does not hold.
var ErrNotHeld = errors.New("consensus: vote not held")

// Retract forgets v, a vote delivered earlier that the application found invalid once it checked it.
// An application may deliver a vote before checking its signature — when the vote came over its
// signer's own authenticated channel, only that signer can have sent it — and check the signature
// only when the vote must be shown to someone else, in a decision certificate or a relay. A badly
// signed vote is then the signer's own doing, so forgetting it never hurts a correct member; all of
// the voter's votes of that type and attempt go (it signed garbage, its other votes there are
// worthless too).
//
// A decision that counted v and no longer has a quorum without it is withdrawn: the application,
// which holds no certificate for it, has not applied it. The machine then goes on with the height
// from where it stands, and schedules the timeout of its current step again, since any that fell
// due while it stood decided were ignored. Moving on is safe whenever it happens — locks, not
// timing, keep decisions consistent — so an extra timeout costs at most an attempt.
func (m *Machine) Retract(v Vote) error {
	if !m.started || v.Height != m.height {
		if m.dropBuffered(VoteMessage(v)) {
			return nil
		}
		return fmt.Errorf("%w: %s %d/%d from member %d", ErrNotHeld, v.Type, v.Height, v.Round, v.Voter)
	}
	l := m.hlog.round(v.Round)
	if l == nil || (v.Type != Prevote && v.Type != Precommit) || v.Voter < 0 || v.Voter >= m.cfg.N {
		return fmt.Errorf("%w: %s %d/%d from member %d", ErrNotHeld, v.Type, v.Height, v.Round, v.Voter)
	}
	set := l.votes(v.Type)
	if !set.voted(v.Voter, v.Value) {
		return fmt.Errorf("%w: %s %d/%d from member %d", ErrNotHeld, v.Type, v.Height, v.Round, v.Voter)
	}
	set.remove(v.Voter)
	if d := m.decision; d != nil && v.Type == Precommit && d.Round == v.Round && l.precommits.count(d.Value) < m.quorum {
		m.log.Warn("decision withdrawn: a precommit it counted is invalid", "height", m.height, "round", d.Round,
			"voter", v.Voter)
		m.decision = nil
		m.decisions = slices.DeleteFunc(m.decisions, func(x Decision) bool { return x.Height == d.Height })
		m.dirty()
		switch m.step {
		case StepPropose:
			m.schedule(onTimeoutPropose, m.round)
		case StepPrevote:
			m.schedule(onTimeoutPrevote, m.round)
		default:
			m.schedule(onTimeoutPrecommit, m.round)
		}
	}
	m.process()
	return nil
}

// dropBuffered removes msg from its sender's future-height buffer and reports whether it was there.
func (m *Machine) dropBuffered(msg Message) bool {
	s := msg.Sender()
	if s < 0 || s >= len(m.future) {
		return false
	}
	n := len(m.future[s])
	m.future[s] = slices.DeleteFunc(m.future[s], func(b Message) bool { return b.sameContent(msg) })
	return len(m.future[s]) < n
}
