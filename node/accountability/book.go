package accountability

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byzpp/byzpp/consensus"
)

// Kinds of misbehaviour an honest peer attributes to a member (keys of Status.Blame's inner maps).
const (
	BadProposal     = "bad-proposal" // proposed a value that does not re-derive
	Censor          = "censor"       // proposed a value omitting a message held past the collect window
	Equivocate      = "equivocate"   // signed two different messages for one slot (consensus evidence)
	RoundEquivocate = "round-equivocate"
	Silent          = "silent"        // no vote of it for a height this peer decided, even SilenceGrace heights later
	Stale           = "stale"         // a signed message for a height long decided, or too many just after
	Future          = "future"        // a signed message too far ahead
	Invalid         = "invalid"       // a signed message that fails a check (not sampled, not leader, dimension)
	InvalidFrame    = "invalid-frame" // a frame or message over its own channel that fails to decode or check
	Flood           = "flood"         // votes beyond its allowance at one height (votestore)
)

// Config is what a Book needs to know of its epoch.
type Config struct {
	Members int // members of the epoch; members are named by index in [0, Members)
	Self    int // this peer's index (never named for double votes or offences), -1 if none
	// FutureHeights is how far above the current height a message is still taken (the node's window);
	// it bounds the records of slots and votes.
	FutureHeights uint64
	// Current returns the height being decided; it is called with the Book's lock held, so it must not
	// call the Book (an atomic load).
	Current func() uint64
}

// Book counts, per member and kind, the misbehaviour this peer has seen, and keeps what the judgements
// need: the suspects of silence, the heights each member was last heard at, late messages per height,
// the members known faulty, recent votes and recent offences. Safe from any goroutine.
type Book struct {
	n, self int
	future  uint64
	current func() uint64
	cutOffs atomic.Uint64 // members cut off so far (Offence)

	mu     sync.Mutex
	counts map[int]map[string]uint64
	once   map[onceKey]bool
	faulty map[int]bool
	// suspects holds, per decided height not judged yet, the members of which no vote for that
	// height has arrived yet (see NoteSilent), and suspectTick the tick at which it was decided.
	suspects    map[uint64][]bool
	suspectTick map[uint64]uint64
	// voteAbove holds, per member, 1 + the highest height of a vote of it seen (0: none yet);
	// aliveAbove the same for its other signed messages (round messages and proposals).
	voteAbove, aliveAbove []uint64
	// late counts, per member and recently decided height, the signed messages that arrived after
	// this peer decided it (see NoteStale); only heights within StaleGrace are kept.
	late map[lateKey]int
	// votes holds, per height, the value of every vote seen in the last few heights (doublevote.go).
	votes map[uint64]map[voteSlot]consensus.ValueID
	// offences holds, per member, the times of its recent offences (abuse.go).
	offences map[int][]time.Time
}

type onceKey struct {
	member  int
	kind    string
	height  uint64
	attempt uint32
}

// New returns an empty book for one epoch.
func New(c Config) *Book {
	cur := c.Current
	if cur == nil {
		cur = func() uint64 { return 0 }
	}
	return &Book{
		n: c.Members, self: c.Self, future: c.FutureHeights, current: cur,
		counts: map[int]map[string]uint64{}, once: map[onceKey]bool{}, faulty: map[int]bool{},
		suspects: map[uint64][]bool{}, suspectTick: map[uint64]uint64{},
		voteAbove: make([]uint64, c.Members), aliveAbove: make([]uint64, c.Members),
		late: map[lateKey]int{}, votes: map[uint64]map[voteSlot]consensus.ValueID{}, offences: map[int][]time.Time{},
	}
}

// Blame counts one offence of member.
func (b *Book) Blame(member int, kind string) {
	b.mu.Lock()
	b.blameLocked(member, kind)
	b.mu.Unlock()
}

// BlameOnce counts an offence at most once per (member, kind, height, attempt): offences that can recur
// for the same slot (a proposal is rebroadcast) are counted once.
func (b *Book) BlameOnce(member int, kind string, height uint64, attempt uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := onceKey{member, kind, height, attempt}
	if b.once[key] {
		return
	}
	// Forget keys of old heights so the set stays bounded by the heights in flight.
	if len(b.once) > 64*b.n {
		cur := b.current()
		for k := range b.once {
			if k.height+b.future < cur {
				delete(b.once, k)
			}
		}
	}
	b.once[key] = true
	b.blameLocked(member, kind)
}

// MarkFaulty records that member was caught equivocating or signing falsely (its own signature or
// authenticated channel proves it) and names it for Equivocate.
func (b *Book) MarkFaulty(member int) {
	b.mu.Lock()
	b.faulty[member] = true
	b.blameLocked(member, Equivocate)
	b.mu.Unlock()
}

// Faulty reports whether member was marked faulty.
func (b *Book) Faulty(member int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.faulty[member]
}

// Count returns how often member was named for kind.
func (b *Book) Count(member int, kind string) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counts[member][kind]
}

// Snapshot copies the counts for Status (nil when nobody was named).
func (b *Book) Snapshot() map[int]map[string]uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.counts) == 0 {
		return nil
	}
	out := make(map[int]map[string]uint64, len(b.counts))
	for member, kinds := range b.counts {
		out[member] = maps.Clone(kinds)
	}
	return out
}

func (b *Book) blameLocked(member int, kind string) {
	if member < 0 || member >= b.n {
		return
	}
	m := b.counts[member]
	if m == nil {
		m = map[string]uint64{}
		b.counts[member] = m
	}
	m[kind]++
}
