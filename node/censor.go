package node

import (
	"errors"
	"fmt"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p/wire"
)

// ErrCensored is the reason an honest validator refuses a proposal that leaves out a sampled member's
// message it has held for longer than the leader could plausibly have lacked it.
var ErrCensored = errors.New("proposal omits a message held past the collect window")

// censorGrace is added to the collect window before an omission counts as censorship: it covers the
// gossip delay between the leader and this peer (the leader's window starts when it enters the height,
// not when this peer received the message).
func (nd *Node) censorGrace() uint64 { return uint64(nd.gen.Timeouts.CollectTicks) / 5 }

// checkCensorship refuses a fresh proposal (no proof of lock) of the current height that omits a
// sampled member's message this peer has held for more than CollectTicks + censorGrace ticks. An
// honest leader proposes as soon as its sample is complete or its window ends, so such an omission
// means the leader chose to leave the message out. Re-proposals of a locked value (POLRound ≥ 0) are
// never refused: more than 2/3 already accepted that value, and refusing it could stall the height.
func (nd *Node) checkCensorship(cp consensus.Proposal, content *wire.Proposal) error {
	if cp.POLRound >= 0 || cp.Proposer == nd.self || content == nil {
		return nil
	}
	included := make(map[int]bool, len(content.Included))
	for _, in := range content.Included {
		included[int(in.Member)] = true
	}
	limit := uint64(nd.gen.Timeouts.CollectTicks) + nd.censorGrace()
	for _, s := range nd.eng.Held(cp.Height) {
		if included[s.Msg.Member] || nd.loop.ticks < s.Arrived || nd.loop.ticks-s.Arrived <= limit {
			continue
		}
		if !nd.checkedRound(s) {
			// Stored unchecked from its author (lazyround.go) and badly signed: an honest leader
			// leaves it out.
			continue
		}
		if nd.knownFaulty(s.Msg.Member) {
			// An honest leader that caught this member equivocating drops its messages at the gossip
			// check; leaving them out is then no censorship. (A leader that learnt of the
			// equivocation before this peer did can still be suspected once: see the package doc.)
			continue
		}
		nd.blameOnceAt(cp.Proposer, blameCensor, cp.Height, cp.Round)
		return fmt.Errorf("%w: member %d's message held for %d ticks", ErrCensored, s.Msg.Member, nd.loop.ticks-s.Arrived)
	}
	return nil
}

func (nd *Node) knownFaulty(member int) bool {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.faulty[member]
}
