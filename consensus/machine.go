package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
)

// Sentinel errors. Errors from StepProposal and StepVote are informational: the message was dropped
// (or, for ErrEquivocation, recorded as evidence), and the machine is still consistent.
var (
	ErrNotStarted     = errors.New("consensus: no height started")
	ErrOldHeight      = errors.New("consensus: message for a past height")
	ErrTooFarAhead    = errors.New("consensus: message too many heights ahead")
	ErrBufferFull     = errors.New("consensus: future-height buffer of sender is full")
	ErrBadMessage     = errors.New("consensus: malformed message")
	ErrNotProposer    = errors.New("consensus: proposal from a member that does not lead the attempt")
	ErrFromSelf       = errors.New("consensus: message signed by ourselves")
	ErrDuplicate      = errors.New("consensus: duplicate message")
	ErrEquivocation   = errors.New("consensus: equivocation")
	ErrRoundTooFar    = errors.New("consensus: sender already holds its allowance of far attempts")
	ErrNotRequested   = errors.New("consensus: no value was requested for that height and attempt")
	ErrBadPersistence = errors.New("consensus: inconsistent persistent state")
)

// Machine is one member's Tendermint state machine (Algorithm 1). It is not safe for concurrent use:
// the caller serialises every call, as with etcd's raft.RawNode.
type Machine struct {
	cfg    Config
	quorum int // 2f+1
	weak   int // f+1
	log    *slog.Logger

	started bool
	now     uint64 // ticks since New

	// Algorithm 1 state, lines 2–9.
	height      uint64
	round       uint32
	step        Step
	lockedValue ValueID
	lockedRound int32
	validValue  ValueID
	validRound  int32
	decision    *Decision

	hlog *heightLog

	// "for the first time" guards of the current attempt (lines 34, 36, 47).
	prevoteTimeoutSet   bool
	lockRuleFired       bool
	precommitTimeoutSet bool
	awaitingValue       bool // NeedValue emitted for the current attempt, Propose not yet called

	// What we signed at this height, for persistence, rebroadcast and the no-double-vote guard.
	ownVotes      []Vote
	ownProposals  []Proposal
	lastProposal  *Proposal
	lastPrevote   *Vote
	lastPrecommit *Vote
	rotation      int // next older message to repeat (see rebroadcast)

	timeouts        []timeout
	nextRebroadcast uint64
	lastPosition    position // at the previous rebroadcast

	future [][]Message // per sender, arrival order

	// Pending output.
	msgs       []Message
	relay      []Vote
	validate   []Proposal
	needValue  *NeedValue
	decisions  []Decision
	evidence   []Equivocation
	persistSeq uint64 // bumped on every change of persistent state
	savedSeq   uint64 // the persistSeq the caller has acknowledged saving
}

// New returns a machine for cfg. With restored == nil it starts idle: call StartHeight with the first
// height to run (0 for a fresh network, later after catching up). With a restored state it resumes that
// height and attempt at once, never signing anything that conflicts with restored.LastSigned, and
// re-emits its signed messages (they may have been saved but never sent) and its decision, if any.
func New(cfg Config, restored *PersistentState) (*Machine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.FutureBufferPerSender == 0 {
		cfg.FutureBufferPerSender = DefaultFutureBufferPerSender
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	m := &Machine{
		cfg:         cfg,
		quorum:      Quorum(cfg.N),
		weak:        WeakQuorum(cfg.N),
		log:         lg.With("member", cfg.Self),
		lockedRound: -1,
		validRound:  -1,
		hlog:        newHeightLog(cfg.N),
		future:      make([][]Message, cfg.N),
	}
	if restored != nil {
		if err := m.restore(restored); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// StartHeight begins height h (line 10, and lines 52–54 once the application has applied the decision
// of h−1 or caught up to h from a certificate). It resets locks, the message log and timeouts, starts
// attempt 0, and replays messages buffered for h. Starting the current height again is a no-op.
func (m *Machine) StartHeight(h uint64) error {
	if m.started && h < m.height {
		return fmt.Errorf("%w: StartHeight(%d) while at height %d", ErrOldHeight, h, m.height)
	}
	if m.started && h == m.height {
		return nil
	}
	m.started = true
	m.height = h
	m.lockedValue, m.lockedRound = ValueID{}, -1 // line 53
	m.validValue, m.validRound = ValueID{}, -1
	m.decision = nil
	m.hlog = newHeightLog(m.cfg.N)
	m.ownVotes, m.ownProposals = nil, nil
	m.lastProposal, m.lastPrevote, m.lastPrecommit = nil, nil, nil
	m.rotation = 0
	m.timeouts = nil
	m.log.Debug("start height", "height", h)
	m.startRound(0)
	m.process()
	m.replayFuture()
	return nil
}

// replayFuture feeds the votes buffered for the current height back in (sender by sender, each in
// arrival order), hands the buffered proposals to the application in Ready.Validate, and forgets
// messages of heights now in the past.
func (m *Machine) replayFuture() {
	for s := range m.future {
		var keep, now []Message
		for _, msg := range m.future[s] {
			switch h := msg.Height(); {
			case h == m.height:
				now = append(now, msg)
			case h > m.height:
				keep = append(keep, msg)
			}
		}
		m.future[s] = keep
		for _, msg := range now {
			if msg.Kind == KindProposal {
				// Its value could not be checked before the previous height was applied.
				m.validate = append(m.validate, msg.Proposal)
				continue
			}
			if err := m.StepVote(msg.Vote); err != nil {
				m.log.Debug("replayed message dropped", "height", m.height, "from", s, "err", err)
			}
		}
	}
}

// Status returns a snapshot of the machine's position, for /status and logs.
func (m *Machine) Status() Status {
	return Status{
		Started:     m.started,
		Height:      m.height,
		Round:       m.round,
		Step:        m.step,
		LockedRound: m.lockedRound,
		LockedValue: m.lockedValue,
		ValidRound:  m.validRound,
		ValidValue:  m.validValue,
		Decided:     m.decision != nil,
		Tick:        m.now,
		Faulty:      m.hlog.faultyMembers(),
	}
}

// HasReady reports whether Ready would return anything.
func (m *Machine) HasReady() bool {
	return len(m.msgs) > 0 || len(m.relay) > 0 || len(m.validate) > 0 || m.needValue != nil || len(m.decisions) > 0 ||
		len(m.evidence) > 0 || m.persistSeq != m.savedSeq
}

// Ready returns the output accumulated since the last Advance. It does not consume it: call Advance
// with the returned value once it has been handled.
func (m *Machine) Ready() Ready {
	rd := Ready{
		Messages:  slices.Clone(m.msgs),
		Relay:     slices.Clone(m.relay),
		Validate:  slices.Clone(m.validate),
		NeedValue: m.needValue,
		Decisions: slices.Clone(m.decisions),
		Evidence:  slices.Clone(m.evidence),
	}
	if m.persistSeq != m.savedSeq {
		ps := m.snapshot()
		rd.Persist = &ps
		rd.persistSeq = m.persistSeq
	}
	return rd
}

// Advance acknowledges that rd (from Ready) has been handled. Output produced after that Ready call
// stays pending.
func (m *Machine) Advance(rd Ready) {
	m.msgs = dropPrefix(m.msgs, len(rd.Messages))
	m.relay = dropPrefix(m.relay, len(rd.Relay))
	m.validate = dropPrefix(m.validate, len(rd.Validate))
	m.decisions = dropPrefix(m.decisions, len(rd.Decisions))
	m.evidence = dropPrefix(m.evidence, len(rd.Evidence))
	if rd.NeedValue != nil && m.needValue == rd.NeedValue {
		m.needValue = nil
	}
	if rd.Persist != nil && rd.persistSeq > m.savedSeq {
		m.savedSeq = rd.persistSeq
	}
}

func dropPrefix[T any](s []T, n int) []T {
	if n >= len(s) {
		return nil
	}
	return slices.Clone(s[n:])
}

// dirty records a change of persistent state.
func (m *Machine) dirty() { m.persistSeq++ }

// proposer returns the leader of (h, r), or −1 if the configured function names no member.
func (m *Machine) proposer(h uint64, r uint32) int {
	p := m.cfg.Proposer(h, r)
	if p < 0 || p >= m.cfg.N {
		m.log.Error("Proposer function returned no member", "height", h, "round", r, "result", p)
		return -1
	}
	return p
}
