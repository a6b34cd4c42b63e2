package accountability

import "slices"

// Proof of censorship. A leader that lags (it started late, restarted, or catches up by state sync)
// drops round messages for heights far ahead of it and lacks them when it gets there, so a first
// omission of a held message is no proof: the node refuses the proposal and hands the omitted
// message to the leader (ErrOmitted). The leader is named a censor only with proof — its proposal
// omits a message handed to it at an earlier attempt at least a collect window before — or for a
// pattern no lagging leader shows: omissions at OmissionsToName distinct heights within a window of
// heights (a leader that caught up has the messages of later heights in time). Handovers keeps that
// record.

// OmissionsToName is how many distinct heights a leader's fresh proposals must have omitted held
// messages at, within the window, before it is named a censor without a handed-over proof.
const OmissionsToName = 3

// Handovers records the round messages handed to leaders whose proposals omitted them, and the
// heights at which each leader omitted held messages. Owned by the event loop.
type Handovers struct {
	handed    map[handKey]handedWhen
	omissions map[int][]uint64 // leader → heights at which its proposals omitted held messages
}

// handKey names a round message (by envelope digest) handed to a leader.
type handKey struct {
	leader int
	digest [32]byte
}

// handedWhen is when a message was handed over: the height (for pruning), the tick, and the attempt
// whose proposal omitted it.
type handedWhen struct {
	height  uint64
	tick    uint64
	attempt uint32
}

// NewHandovers returns an empty record.
func NewHandovers() *Handovers {
	return &Handovers{handed: map[handKey]handedWhen{}, omissions: map[int][]uint64{}}
}

// Hand records that the message with digest d, omitted by leader's proposal of (height, attempt), is
// handed to it at tick now; false if it was handed already (it is not sent again).
func (h *Handovers) Hand(leader int, d [32]byte, height uint64, attempt uint32, now uint64) bool {
	k := handKey{leader, d}
	if _, done := h.handed[k]; done {
		return false
	}
	h.handed[k] = handedWhen{height: height, tick: now, attempt: attempt}
	return true
}

// HandedBefore reports whether the message with digest d was handed to leader at an attempt before
// attempt (a proposal is repeated unchanged within its attempt) and at least window ticks before now.
func (h *Handovers) HandedBefore(leader int, d [32]byte, attempt uint32, now, window uint64) bool {
	at, ok := h.handed[handKey{leader, d}]
	return ok && at.attempt < attempt && now >= at.tick+window
}

// Omitted records that leader's proposal at height omitted a held message and returns at how many
// distinct heights within the last window heights it did.
func (h *Handovers) Omitted(leader int, height, window uint64) int {
	hs := h.omissions[leader]
	if !slices.Contains(hs, height) {
		hs = append(hs, height)
	}
	hs = slices.DeleteFunc(hs, func(x uint64) bool { return x+window < height })
	h.omissions[leader] = hs
	return len(hs)
}

// Prune forgets the messages handed over for heights below k.
func (h *Handovers) Prune(k uint64) {
	for key, at := range h.handed {
		if at.height < k {
			delete(h.handed, key)
		}
	}
}
