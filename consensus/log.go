package consensus

import "slices"

// voteSet holds at most one vote of one type per member for one attempt, with running counts so that
// every "2f+1 ⟨…, id(v)⟩" test of Algorithm 1 is a map look-up.
type voteSet struct {
	votes   []Vote // indexed by voter; has[i] tells whether votes[i] is set
	has     []bool
	total   int             // members who voted at all (lines 34, 47: "2f+1 ⟨PREVOTE, h, r, ∗⟩")
	byValue map[ValueID]int // members who voted for each value (nil included)
}

func newVoteSet(n int) voteSet {
	return voteSet{votes: make([]Vote, n), has: make([]bool, n), byValue: make(map[ValueID]int)}
}

func (s *voteSet) add(v Vote) {
	s.votes[v.Voter] = v
	s.has[v.Voter] = true
	s.total++
	s.byValue[v.Value]++
}

func (s *voteSet) remove(voter int) {
	if !s.has[voter] {
		return
	}
	v := s.votes[voter].Value
	s.has[voter] = false
	s.votes[voter] = Vote{}
	s.total--
	if s.byValue[v]--; s.byValue[v] == 0 {
		delete(s.byValue, v)
	}
}

func (s *voteSet) count(v ValueID) int { return s.byValue[v] }

// forValue returns the votes for v in voter order (deterministic, for certificates and relays).
func (s *voteSet) forValue(v ValueID) []Vote {
	var out []Vote
	for i, ok := range s.has {
		if ok && s.votes[i].Value == v {
			out = append(out, s.votes[i])
		}
	}
	return out
}

// storedProposal is a proposal with the application's verdict on its value.
type storedProposal struct {
	p     Proposal
	valid bool
}

// roundLog is the message log of one attempt of the current height.
type roundLog struct {
	proposals  []storedProposal // arrival order, at most maxProposalsPerRound
	prevotes   voteSet
	precommits voteSet
	senders    []bool // members with any message in this attempt (line 55)
	nSenders   int
}

func newRoundLog(n int) *roundLog {
	return &roundLog{prevotes: newVoteSet(n), precommits: newVoteSet(n), senders: make([]bool, n)}
}

func (l *roundLog) votes(t VoteType) *voteSet {
	if t == Prevote {
		return &l.prevotes
	}
	return &l.precommits
}

func (l *roundLog) markSender(i int) {
	if !l.senders[i] {
		l.senders[i] = true
		l.nSenders++
	}
}

// forget drops everything member i sent in this attempt (used when evicting a far attempt).
func (l *roundLog) forget(i int) {
	l.prevotes.remove(i)
	l.precommits.remove(i)
	l.proposals = slices.DeleteFunc(l.proposals, func(sp storedProposal) bool { return sp.p.Proposer == i })
	if l.senders[i] {
		l.senders[i] = false
		l.nSenders--
	}
}

func (l *roundLog) empty() bool { return l.nSenders == 0 }

// heightLog is the message log of the current height: what line 53 empties.
type heightLog struct {
	n      int
	rounds map[uint32]*roundLog
	// far[i] lists the attempts above round_p+1 in which member i has messages (at most
	// farRoundsPerSender), so one member cannot make us allocate a log for every possible attempt.
	far    [][]uint32
	faulty []bool // members caught equivocating at this height: their later messages are ignored
}

func newHeightLog(n int) *heightLog {
	return &heightLog{n: n, rounds: make(map[uint32]*roundLog), far: make([][]uint32, n), faulty: make([]bool, n)}
}

// round returns the log of attempt r, or nil if nothing was received for it.
func (h *heightLog) round(r uint32) *roundLog { return h.rounds[r] }

func (h *heightLog) roundOrNew(r uint32) *roundLog {
	l := h.rounds[r]
	if l == nil {
		l = newRoundLog(h.n)
		h.rounds[r] = l
	}
	return l
}

// admit decides whether a message of member i for attempt r may be stored while we are in attempt
// current. Attempts up to current+1 are always admitted. Beyond that each member gets
// farRoundsPerSender slots; a message for a higher attempt than all of a full member's slots evicts
// its lowest one, a lower one is refused.
func (h *heightLog) admit(i int, r, current uint32) bool {
	if r <= current+1 {
		return true
	}
	// Attempts we have since come close to are no longer "far"; their messages stay.
	h.far[i] = slices.DeleteFunc(h.far[i], func(x uint32) bool { return x <= current+1 })
	if slices.Contains(h.far[i], r) {
		return true
	}
	if len(h.far[i]) < farRoundsPerSender {
		h.far[i] = append(h.far[i], r)
		return true
	}
	lowest := slices.Min(h.far[i])
	if r < lowest {
		return false
	}
	if l := h.rounds[lowest]; l != nil {
		l.forget(i)
		if l.empty() {
			delete(h.rounds, lowest)
		}
	}
	h.far[i][slices.Index(h.far[i], lowest)] = r
	return true
}

func (h *heightLog) faultyMembers() []int {
	var out []int
	for i, f := range h.faulty {
		if f {
			out = append(out, i)
		}
	}
	return out
}
