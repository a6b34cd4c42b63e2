package consensus

import "slices"

// voteSet holds the votes of one type for one attempt, with running counts so that every
// "2f+1 ⟨…, id(v)⟩" test of Algorithm 1 is a map look-up.
//
// A member's first vote is kept in first and counted in total (lines 34, 47: "2f+1 ⟨PREVOTE, h, r, ∗⟩"
// count members, not messages). An equivocating member's further votes with other values are kept in
// extra and count towards their own values, each member at most once per value — as in the paper's
// message log, where the quorum tests are over messages from distinct senders for a value. Dropping
// them would let one Byzantine member split the correct ones: a correct member that counted its vote
// for v may lock on v, while another that saw a different vote first can never verify that lock's
// proof (line 28) again, and with N = 3f+1 the height stalls (TestEquivocatorStillCounts). Safety is
// untouched: two quorums for different values still share f+1 distinct members, more than there are
// Byzantine ones. An extra vote is only kept if a stored proposal makes a rule count it (see
// heightLog.matters), so extra never outgrows the proposals stored.
type voteSet struct {
	first    []Vote // indexed by voter
	hasFirst []bool
	extra    [][]Vote        // indexed by voter: later votes with other values
	total    int             // members who voted at all
	byValue  map[ValueID]int // members who voted for each value (nil included)
}

func newVoteSet(n int) voteSet {
	return voteSet{first: make([]Vote, n), hasFirst: make([]bool, n), extra: make([][]Vote, n), byValue: make(map[ValueID]int)}
}

func (s *voteSet) add(v Vote) {
	s.first[v.Voter] = v
	s.hasFirst[v.Voter] = true
	s.total++
	s.byValue[v.Value]++
}

// addExtra records a conflicting vote of an equivocating member (its value is not yet counted for it).
func (s *voteSet) addExtra(v Vote) {
	s.extra[v.Voter] = append(s.extra[v.Voter], v)
	s.byValue[v.Value]++
}

// voted reports whether voter already has a vote for value counted.
func (s *voteSet) voted(voter int, value ValueID) bool {
	if !s.hasFirst[voter] {
		return false
	}
	if s.first[voter].Value == value {
		return true
	}
	for _, e := range s.extra[voter] {
		if e.Value == value {
			return true
		}
	}
	return false
}

func (s *voteSet) decrement(v ValueID) {
	if s.byValue[v]--; s.byValue[v] == 0 {
		delete(s.byValue, v)
	}
}

func (s *voteSet) remove(voter int) {
	for _, e := range s.extra[voter] {
		s.decrement(e.Value)
	}
	s.extra[voter] = nil
	if s.hasFirst[voter] {
		s.decrement(s.first[voter].Value)
		s.hasFirst[voter], s.first[voter] = false, Vote{}
		s.total--
	}
}

func (s *voteSet) count(v ValueID) int { return s.byValue[v] }

// all returns every vote kept, in voter order (first votes before a voter's extra ones).
func (s *voteSet) all() []Vote {
	var out []Vote
	for i := range s.first {
		if s.hasFirst[i] {
			out = append(out, s.first[i])
			out = append(out, s.extra[i]...)
		}
	}
	return out
}

// forValue returns the votes for v in voter order (deterministic, for certificates and relays).
func (s *voteSet) forValue(v ValueID) []Vote {
	var out []Vote
	for i := range s.first {
		if !s.hasFirst[i] {
			continue
		}
		if s.first[i].Value == v {
			out = append(out, s.first[i])
			continue
		}
		for _, e := range s.extra[i] {
			if e.Value == v {
				out = append(out, e)
				break
			}
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
	faulty []bool // members caught equivocating at this height (evidence reported once)
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

// matters reports whether a rule can count a vote of type t for v in attempt r, given the stored
// proposals: precommits for the value of a proposal of attempt r (line 49); prevotes for it (line 36)
// or for the value of a later proposal whose proof-of-lock round is r (line 28), and nil prevotes
// (line 44). Counting any other vote changes nothing, so an equivocator's other votes are not kept.
func (h *heightLog) matters(t VoteType, r uint32, v ValueID) bool {
	if t == Prevote && v.IsNil() {
		return true
	}
	if l := h.rounds[r]; l != nil {
		for _, sp := range l.proposals {
			if sp.p.Value == v {
				return true
			}
		}
	}
	if t != Prevote {
		return false
	}
	for _, l := range h.rounds {
		for _, sp := range l.proposals {
			if sp.p.POLRound == int32(r) && sp.p.Value == v {
				return true
			}
		}
	}
	return false
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
