package accountability

import (
	"errors"
	"fmt"
)

// ErrCensored is the reason an honest validator refuses a proposal that leaves out a sampled member's
// message it has held for longer than the leader could plausibly have lacked it.
var ErrCensored = errors.New("proposal omits a message held past the collect window")

// CensorGrace is added to the collect window (ticks) before an omission counts as censorship: it covers
// the gossip delay between the leader and this peer (the leader's window starts when it enters the
// height, not when this peer received the message).
func CensorGrace(collectTicks uint64) uint64 { return collectTicks / 5 }

// Held is a round message this peer holds for the proposal's height: its author and the tick it
// arrived at.
type Held struct {
	Member  int
	Arrived uint64
}

// Proposal is what the censorship rule needs of a proposal.
type Proposal struct {
	Height   uint64
	Attempt  uint32
	Proposer int
	// POLRound is the proposal's proof-of-lock round, −1 for a fresh proposal.
	POLRound int
	Included []int // the members whose messages it includes
}

// Omitted returns the index in held of the first message a fresh proposal including the messages of
// included must not have left out, or −1: one it does not include, held for more than collectTicks +
// CensorGrace ticks at tick now, and not excused. An honest leader proposes as soon as its sample is
// complete or its window ends, so such an omission means the leader chose to leave the message out.
// excused (nil: none) is asked, in held's order, about each such message only, and may have effects:
// the node excuses a message whose signature fails (checking it marks the author faulty; an honest
// leader leaves it out) and one whose author is known faulty (an honest leader that caught it
// equivocating drops its messages at the gossip check).
func Omitted(held []Held, included []int, now, collectTicks uint64, excused func(i int) bool) int {
	in := make(map[int]bool, len(included))
	for _, m := range included {
		in[m] = true
	}
	limit := collectTicks + CensorGrace(collectTicks)
	for i, s := range held {
		if in[s.Member] || now < s.Arrived || now-s.Arrived <= limit {
			continue
		}
		if excused != nil && excused(i) {
			continue
		}
		return i
	}
	return -1
}

// ErrOmitted is the reason an honest validator refuses a proposal that leaves out a message it holds
// when it cannot tell censorship from a leader that never got the message (it started late, restarted,
// or the author sent it only to some): the proposal is refused, the leader is not named, and the
// validator hands the message over (see CheckCensorship).
var ErrOmitted = errors.New("proposal omits a message this peer holds")

// CheckCensorship applies the censorship rule (Omitted) to p as seen by this peer. A fresh proposal
// that omits a message is refused. Its proposer is named Censor (once per (height, attempt)) only if
// handedOver reports that this peer gave it that very message at least a collect window before —
// then it held the message and left it out; otherwise the error wraps ErrOmitted and the caller hands
// the message over, so that a leader that merely lacked it includes it next time. (Before this rule,
// honest members that started late or restarted were named censors when they first led: TestNode-
// FaultSchedules.) Re-proposals of a locked value (POLRound ≥ 0) and this peer's own proposals are
// never refused: more than 2/3 already accepted a locked value, and refusing it could stall the
// height. It returns the index in held of the omitted message, or −1.
func (b *Book) CheckCensorship(p Proposal, held []Held, now, collectTicks uint64, excused, handedOver func(i int) bool) (int, error) {
	if p.POLRound >= 0 || p.Proposer == b.self {
		return -1, nil
	}
	i := Omitted(held, p.Included, now, collectTicks, excused)
	if i < 0 {
		return -1, nil
	}
	if handedOver == nil || !handedOver(i) {
		return i, fmt.Errorf("%w: member %d's message, held for %d ticks", ErrOmitted, held[i].Member, now-held[i].Arrived)
	}
	b.BlameOnce(p.Proposer, Censor, p.Height, p.Attempt)
	return i, fmt.Errorf("%w: member %d's message held for %d ticks, handed to the leader before", ErrCensored, held[i].Member, now-held[i].Arrived)
}
