package relay

import (
	"cmp"
	"slices"
	"time"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p/wire"
)

// The relay's bookkeeping (the why is in node/relay.go): what the leader of a vote step knows of it
// (who voted, what waits to go out, whether its quorum left), our own votes sent only to a leader and
// awaiting progress, the heights whose leader was heard, the votes a past leader handed over and the
// round messages queued for our next bundles, and the one-tick clock of the oldest pending vote. The
// node decides whether a vote is relayed at all (who leads, how many members, the configuration) and
// sends what Flush, Fallbacks and Handover return.

// MinMembers is the smallest membership that relays votes. The relay trades n(n−1) messages per
// vote step for 2(n−1) and one more hop; with few members the messages saved do not pay for the hop
// (measured on loopback: 4 peers decided up to a fifth fewer rounds per second through the relay, 10
// peers about a third more).
const MinMembers = 7

// fallbackDiv: a vote sent only to the leader goes to every member after PrevoteBase/fallbackDiv
// ticks without progress.
const fallbackDiv = 4

// votesPerVoter bounds how many votes of one voter the leader forwards per vote step: an honest
// voter sends one; two let an equivocation through to be noticed, more would only be spam.
const votesPerVoter = 2

// FallbackWait is how many ticks a vote sent only to the leader waits for progress before it goes to
// every member, for the genesis' PrevoteBase.
func FallbackWait(prevoteBase uint32) uint64 { return uint64(max(1, prevoteBase/fallbackDiv)) }

// MaxAdopted bounds the handed-over votes a member holds for forwarding between two of its flushes,
// among n members. Several relay leaders may hand over at once — at tens of heights a second a tick
// spans several heights, each with its own late votes — and a vote dropped here may be the only sign
// of its voter's presence at that height (node/blame.go), so the bound is generous; a handed-over vote
// is kept once (by envelope digest), so a member repeating a handover gains nothing.
func MaxAdopted(n int) int { return 16 * n }

// Group is one vote step of one attempt the leader relays.
type Group struct {
	Height uint64
	Type   consensus.VoteType
}

// batch is what the leader knows of one vote step: who voted (any path), what waits to go out.
type batch struct {
	voters  []bool
	count   int
	taken   []uint8 // votes forwarded or pending per voter
	pending []Vote
	flushed bool // the quorum went out; later votes wait for the next tick
}

// Vote is a vote the leader relays, with its authenticator (nil: our own vote, which needs none).
type Vote struct {
	Group Group
	Voter int
	Raw   []byte
	MACs  []wire.MAC
	// HandedOver: a past leader handed it to us (handover.go); we forward it, never hand it on.
	HandedOver bool
	// Late: it reached us after its step's quorum went out (only such votes are handed over).
	Late bool
}

// Round is a round message a leader forwards with its author's authenticator (nil: our own).
type Round struct {
	Author int
	Raw    []byte
	MACs   []wire.MAC
}

// Position is where consensus stands: a vote sent only to the leader waits while it does not move.
type Position struct {
	Height uint64
	Round  uint32
	Step   consensus.Step
}

// wait is our own vote sent only to the leader, with the consensus position it was cast in.
type wait struct {
	raw   []byte
	since uint64
	at    Position
}

// Stats are the relay's counters, for the node's Status.
type Stats struct {
	RoundBundlesOut    uint64
	Speculated         uint64 // our next-round messages sent ahead of their decision
	SpeculationMisses  uint64 // ... computed at a state then not decided
	SpeculationResends uint64 // ... sent to every member because no proposal included them in time
	BundlesOut         uint64
	HandoversOut       uint64
	VotesOut           uint64 // votes forwarded, counted once per receiver
	Fallbacks          uint64 // our votes re-sent to everyone because the leader moved nothing
}

// State is the event loop's relay bookkeeping. Init it before use; it is not safe for concurrent use.
type State struct {
	grace   uint64 // a step of a height more than grace below the current one is forgotten
	groups  map[Group]*batch
	waiting map[consensus.Vote]wait
	// heardLeader holds the heights whose attempt-0 proposal from its leader arrived.
	heardLeader map[uint64]bool
	// due is when the oldest pending vote has waited one tick (zero: nothing pending); timer fires
	// then (Timer), armed for due.
	due, armed time.Time
	timer      *time.Timer
	// adopted holds late votes a past leader handed over, for our next bundles (handover.go).
	adopted     []Vote
	adoptedSeen map[[32]byte]bool // envelope digests in adopted
	// rounds holds next-round messages sent to us to forward with our bundles (node/speculate.go).
	rounds []Round
	Stats  Stats
}

// Init makes an empty State that forgets the steps of heights more than grace below the current one.
func (s *State) Init(grace uint64) {
	s.grace = grace
	s.groups = map[Group]*batch{}
	s.waiting = map[consensus.Vote]wait{}
	s.heardLeader = map[uint64]bool{}
}

// NoteLeaderProposal records that the leader's proposal of (height, attempt) arrived, cur being the
// current height: from then on votes of attempt 0 of that height may go through the leader.
func (s *State) NoteLeaderProposal(height uint64, attempt uint32, cur uint64) {
	if attempt == 0 && height+1 >= cur {
		s.heardLeader[height] = true
	}
}

// HeardLeader reports whether the attempt-0 proposal of height arrived from its leader.
func (s *State) HeardLeader(height uint64) bool { return s.heardLeader[height] }

func (s *State) batch(g Group, n int) *batch {
	b := s.groups[g]
	if b == nil {
		b = &batch{voters: make([]bool, n), taken: make([]uint8, n)}
		s.groups[g] = b
	}
	return b
}

// Count counts voter's vote of step g, which we relay among n members, whatever path it came by.
func (s *State) Count(g Group, voter, n int) {
	b := s.batch(g, n)
	if b.voters[voter] {
		return
	}
	b.voters[voter] = true
	b.count++
}

// QueueOwn queues our own vote v of a step we relay into the bundles (it does not start the clock).
func (s *State) QueueOwn(v Vote, n int) {
	b := s.batch(v.Group, n)
	b.taken[v.Voter]++
	b.pending = append(b.pending, v)
}

// Take queues a vote sent to us, the leader, with its authenticator, unless its voter already has
// votesPerVoter votes of the step queued or forwarded; it reports whether it did. The caller starts
// the clock (Pending).
func (s *State) Take(v Vote, n int) bool {
	b := s.batch(v.Group, n)
	if b.taken[v.Voter] >= votesPerVoter {
		return false
	}
	b.taken[v.Voter]++
	b.pending = append(b.pending, v)
	return true
}

// PendingVotes is how many votes of step g wait to go out.
func (s *State) PendingVotes(g Group) int {
	if b := s.groups[g]; b != nil {
		return len(b.pending)
	}
	return 0
}

// Await remembers our vote v (raw) sent only through the leader at tick ticks, consensus standing at
// at, to send it to everyone if nothing moves (Fallbacks).
func (s *State) Await(v consensus.Vote, raw []byte, ticks uint64, at Position) {
	s.waiting[v] = wait{raw: raw, since: ticks, at: at}
}

// Awaiting reports whether our vote v awaits progress.
func (s *State) Awaiting(v consensus.Vote) bool {
	_, ok := s.waiting[v]
	return ok
}

// Fallbacks returns our votes the leader moved nothing with for wait ticks (FallbackWait), to send
// to every member, and forgets those whose position moved; at is consensus' position now.
func (s *State) Fallbacks(at Position, ticks, wait uint64) [][]byte {
	var out [][]byte
	for k, w := range s.waiting {
		switch {
		case at != w.at:
			delete(s.waiting, k) // it moved
		case ticks-w.since >= wait:
			delete(s.waiting, k)
			s.Stats.Fallbacks++
			out = append(out, w.raw)
		}
	}
	return out
}

// Pending starts the one-tick clock of the oldest pending vote, if it is not running.
func (s *State) Pending(now time.Time, tick time.Duration) {
	if s.due.IsZero() {
		s.due = now.Add(tick)
	}
}

// Due is when the oldest pending vote has waited a tick (zero: none pending).
func (s *State) Due() time.Time { return s.due }

// Timer is the channel the event loop waits on for the oldest pending vote's tick to end (nil: none
// pending); then it flushes with force.
func (s *State) Timer() <-chan time.Time {
	if s.due.IsZero() {
		return nil
	}
	if s.timer == nil {
		s.timer = time.NewTimer(time.Until(s.due))
	} else if !s.armed.Equal(s.due) {
		s.timer.Reset(time.Until(s.due))
	}
	s.armed = s.due
	return s.timer.C
}

// Flush returns every pending vote and queued round message to forward now, among n members at
// height cur: when a step just reached its quorum, when the oldest has waited a tick (by now), or
// when force; otherwise nothing. It forgets steps of heights long decided. Votes arriving after
// their step's quorum went out wait for the next quorum or the end of their tick: they rarely matter
// to progress (an honest attempt needs only the quorum), and flushing each at once cost the leader
// n−1 messages per late vote. (Flushing at every tick of the ticker instead sent most steps in two or
// three pieces.) The votes come older heights and prevotes first, each step's in arrival order.
func (s *State) Flush(now time.Time, cur uint64, n int, force bool) ([]Vote, []Round) {
	if len(s.groups) == 0 && len(s.adopted) == 0 && len(s.rounds) == 0 {
		s.due = time.Time{}
		return nil, nil
	}
	if !s.due.IsZero() && !now.Before(s.due) {
		force = true
	}
	q := wire.Quorum(n)
	for g, b := range s.groups {
		old := g.Height+s.grace < cur
		if len(b.pending) > 0 && (old || (!b.flushed && b.count >= q)) {
			force = true // a step about to be forgotten still sends what it holds
		}
	}
	if !force {
		return nil, nil
	}
	// A quorum goes out, and with it every late vote still waiting: one message per receiver.
	out, rounds := s.adopted, s.rounds
	s.adopted, s.rounds = nil, nil
	clear(s.adoptedSeen)
	for g, b := range s.groups {
		for _, rv := range b.pending {
			rv.Late = b.flushed // its step's quorum already went out (handover.go)
			out = append(out, rv)
		}
		b.flushed = b.flushed || b.count >= q
		b.pending = nil
		if g.Height+s.grace < cur {
			delete(s.groups, g)
		}
	}
	s.due = time.Time{}
	slices.SortStableFunc(out, func(a, b Vote) int {
		return cmp.Or(cmp.Compare(a.Group.Height, b.Group.Height), cmp.Compare(a.Group.Type, b.Group.Type))
	})
	return out, rounds
}

// AppendFor appends to dst the votes of out that member j did not cast, each with j's MAC (zero for
// our own vote: it goes over our own channel): what j's bundles carry, to be cut into frames of at
// most wire.MaxBundleVotes.
func AppendFor(dst []wire.RelayedVote, out []Vote, j int) []wire.RelayedVote {
	for _, rv := range out {
		if rv.Voter == j {
			continue
		}
		var mac wire.MAC
		if rv.MACs != nil {
			mac = rv.MACs[j]
		}
		dst = append(dst, wire.RelayedVote{Envelope: rv.Raw, MAC: mac})
	}
	return dst
}

// RoundsFor is the round bundle for member j: the queued round messages it did not write, each with
// j's MAC.
func RoundsFor(rounds []Round, j int) wire.RoundBundle {
	var b wire.RoundBundle
	for _, r := range rounds {
		if r.Author == j {
			continue
		}
		m := wire.RelayedRound{Envelope: r.Raw}
		if r.MACs != nil {
			m.MAC = r.MACs[j]
		}
		b.Msgs = append(b.Msgs, m)
	}
	return b
}

// QueueRound queues a round message for our next bundles, at most n of them; it reports whether it
// did. The caller starts the clock (Pending).
func (s *State) QueueRound(r Round, n int) bool {
	if len(s.rounds) >= n {
		return false
	}
	s.rounds = append(s.rounds, r)
	return true
}

// Rounds are the round messages queued for our next bundles.
func (s *State) Rounds() []Round { return s.rounds }

// Prune forgets per-height data below height k (the node's new height).
func (s *State) Prune(k uint64) {
	for h := range s.heardLeader {
		if h < k {
			delete(s.heardLeader, h)
		}
	}
	for v := range s.waiting {
		if v.Height < k {
			delete(s.waiting, v)
		}
	}
}

// Waiting reports whether any of our votes awaits progress.
func (s *State) Waiting() bool { return len(s.waiting) > 0 }
