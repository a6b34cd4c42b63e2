package consensus

import (
	"math"
	"slices"
)

type timeoutKind uint8

const (
	onTimeoutPropose timeoutKind = iota
	onTimeoutPrevote
	onTimeoutPrecommit
)

// timeout is a scheduled OnTimeoutX(height, round) call.
type timeout struct {
	kind   timeoutKind
	height uint64
	round  uint32
	at     uint64 // tick at which it fires
}

// schedule arranges OnTimeoutX(h_p, r) after timeoutX(r) ticks.
func (m *Machine) schedule(kind timeoutKind, r uint32) {
	var tc TimeoutConfig
	switch kind {
	case onTimeoutPropose:
		tc = m.cfg.Propose
	case onTimeoutPrevote:
		tc = m.cfg.Prevote
	default:
		tc = m.cfg.Precommit
	}
	at := m.now + tc.ticks(r)
	if at < m.now { // saturate rather than wrap after ~2^64 ticks
		at = math.MaxUint64
	}
	m.timeouts = append(m.timeouts, timeout{kind: kind, height: m.height, round: r, at: at})
}

// Tick advances the machine's clock by one tick: due timeouts fire in the order they were scheduled,
// and every RebroadcastEvery ticks our latest messages are repeated.
func (m *Machine) Tick() {
	m.now++
	var due []timeout
	kept := m.timeouts[:0]
	for _, t := range m.timeouts {
		if t.at <= m.now {
			due = append(due, t)
		} else {
			kept = append(kept, t)
		}
	}
	m.timeouts = kept
	for _, t := range due {
		m.fire(t)
	}
	if m.cfg.RebroadcastEvery > 0 && m.started && m.now >= m.nextRebroadcast {
		m.nextRebroadcast = m.now + uint64(m.cfg.RebroadcastEvery)
		m.rebroadcast()
	}
}

// fire runs OnTimeoutPropose, OnTimeoutPrevote or OnTimeoutPrecommit (lines 57–67). Each acts only if
// the machine is still at the height and attempt it was scheduled for (and, for the first two, in
// the same step); a decided height waits for StartHeight instead.
func (m *Machine) fire(t timeout) {
	if !m.started || m.decision != nil || t.height != m.height || t.round != m.round {
		return
	}
	switch t.kind {
	case onTimeoutPropose: // lines 57–60
		if m.step == StepPropose {
			m.log.Debug("timeout propose", "height", m.height, "round", m.round)
			m.awaitingValue, m.needValue = false, nil
			m.prevote(ValueID{})
		}
	case onTimeoutPrevote: // lines 61–64
		if m.step == StepPrevote {
			m.log.Debug("timeout prevote", "height", m.height, "round", m.round)
			m.signVote(Precommit, ValueID{})
			m.step = StepPrecommit
		}
	case onTimeoutPrecommit: // lines 65–67
		if m.round >= maxRound {
			m.log.Error("attempt counter exhausted", "height", m.height)
			return
		}
		m.log.Debug("timeout precommit", "height", m.height, "round", m.round)
		m.startRound(m.round + 1)
	}
	m.process()
}

// olderPerRebroadcast is how many of our older messages of the height each rebroadcast repeats, in
// rotation, besides the latest ones.
const olderPerRebroadcast = 4

// rebroadcast repeats our latest proposal and votes of the current height, a rotating few of our older
// ones, and relays the others' votes that justify our position (see relaySet and Ready.Relay).
//
// The older ones matter: Algorithm 1's liveness assumes every message a correct member sent eventually
// reaches every correct member. A member that lost our attempt-0 prevote before GST may be waiting for
// it (line 34) to time out of attempt 0, while we, already in attempt 1, would otherwise only repeat our
// attempt-1 messages — and it needs f+1 senders there to follow (line 55). Rotating through everything
// we signed at the height restores the assumption at a bounded cost per period.
func (m *Machine) rebroadcast() {
	latest := make([]Message, 0, 3)
	if m.lastProposal != nil {
		latest = append(latest, ProposalMessage(*m.lastProposal))
	}
	if m.lastPrevote != nil {
		latest = append(latest, VoteMessage(*m.lastPrevote))
	}
	if m.lastPrecommit != nil {
		latest = append(latest, VoteMessage(*m.lastPrecommit))
	}
	for _, msg := range latest {
		m.repeat(msg)
	}
	// latest is a subset of what we signed, so a full turn of the rotation meets every older message.
	total := len(m.ownProposals) + len(m.ownVotes)
	want := min(olderPerRebroadcast, total-len(latest))
	for sent := 0; sent < want; {
		m.rotation %= total
		var msg Message
		if m.rotation < len(m.ownProposals) {
			msg = ProposalMessage(m.ownProposals[m.rotation])
		} else {
			msg = VoteMessage(m.ownVotes[m.rotation-len(m.ownProposals)])
		}
		m.rotation++
		if !slices.ContainsFunc(latest, msg.sameContent) {
			m.repeat(msg)
			sent++
		}
	}
	// Relaying is only worth its traffic when we have not moved for a whole period: while everyone
	// progresses, the others already have what took us here.
	pos := position{height: m.height, round: m.round, step: m.step, decided: m.decision != nil}
	if pos == m.lastPosition {
		m.relay = append(m.relay, m.relaySet()...)
	}
	m.lastPosition = pos
}

// position is where the machine stands, to tell whether it moved between two rebroadcasts.
type position struct {
	height  uint64
	round   uint32
	step    Step
	decided bool
}

// relaySet lists the others' votes a member behind us needs to catch up with our position — the
// messages that took us there — in a deterministic order without repeats:
//   - the prevotes for validValue in validRound (the proof of lock a re-proposal relies on, line 28);
//   - the precommits of the previous attempt (what made us time out of it, lines 47 and 65);
//   - the votes of the current attempt (what may have made us skip to it, line 55).
//
// Algorithm 1 assumes correct members eventually receive every message any correct member received,
// including Byzantine ones; a Byzantine member that sent its vote to us alone must not be able to strand
// the others in an older attempt.
func (m *Machine) relaySet() []Vote {
	var out []Vote
	add := func(vs []Vote) {
		for _, v := range vs {
			if v.Voter != m.cfg.Self && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	if m.validRound >= 0 {
		if l := m.hlog.round(uint32(m.validRound)); l != nil {
			add(l.prevotes.forValue(m.validValue))
		}
	}
	if m.round > 0 {
		if l := m.hlog.round(m.round - 1); l != nil {
			add(l.precommits.all())
		}
	}
	if l := m.hlog.round(m.round); l != nil {
		add(l.prevotes.all())
		add(l.precommits.all())
	}
	return out
}

func (m *Machine) repeat(msg Message) {
	msg.Rebroadcast = true
	m.msgs = append(m.msgs, msg)
}

// GiveUpOnProposer ends the wait for the proposal of attempt r of height h now, as its propose timeout
// would (lines 57–60: prevote nil), when the application knows the proposer is not there — it has
// heard nothing from it for a long time. It reports whether the machine was waiting there. Like every
// timeout it affects liveness only: giving up early on a live proposer costs that attempt, never
// safety.
func (m *Machine) GiveUpOnProposer(h uint64, r uint32) bool {
	if !m.started || m.decision != nil || h != m.height || r != m.round || m.step != StepPropose {
		return false
	}
	m.log.Debug("giving up on the proposer", "height", h, "round", r)
	m.fire(timeout{kind: onTimeoutPropose, height: h, round: r, at: m.now})
	return true
}
