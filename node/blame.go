package node

import (
	"errors"
	"maps"

	"github.com/byzpp/byzpp/p2p/wire"
)

// Kinds of misbehaviour an honest peer attributes to a member (keys of Status.Blame's inner maps).
const (
	blameBadProposal = "bad-proposal" // proposed a value that does not re-derive
	blameCensor      = "censor"       // proposed a value omitting a message held past the collect window
	blameEquivocate  = "equivocate"   // signed two different messages for one slot (consensus evidence)
	blameRoundEquiv  = "round-equivocate"
	blameSilent      = "silent"  // signed no vote at all at a height this peer decided
	blameStale       = "stale"   // a signed message for a height already decided
	blameFuture      = "future"  // a signed message too far ahead
	blameInvalid     = "invalid" // a signed message that fails a check (not sampled, not leader, dimension)
)

// blameBook counts, per member and kind, the misbehaviour this peer has seen. It is guarded by
// Node.mu because gossip validators (other goroutines) write to it too. Offences that can recur for
// the same slot (a proposal is rebroadcast) are counted once per key.
type blameBook struct {
	counts map[int]map[string]uint64
	once   map[blameOnce]bool
}

type blameOnce struct {
	member  int
	kind    string
	height  uint64
	attempt uint32
}

// blame counts one offence of member (caller holds no lock).
func (nd *Node) blame(member int, kind string) {
	nd.mu.Lock()
	nd.blameLocked(member, kind)
	nd.mu.Unlock()
}

// blameOnceAt counts an offence at most once per (member, kind, height, attempt).
func (nd *Node) blameOnceAt(member int, kind string, height uint64, attempt uint32) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	b := &nd.blames
	if b.once == nil {
		b.once = map[blameOnce]bool{}
	}
	key := blameOnce{member, kind, height, attempt}
	if b.once[key] {
		return
	}
	// Forget keys of old heights so the set stays bounded by the heights in flight.
	if len(b.once) > 64*nd.n {
		cur := nd.current.Load()
		for k := range b.once {
			if k.height+maxFutureHeights < cur {
				delete(b.once, k)
			}
		}
	}
	b.once[key] = true
	nd.blameLocked(member, kind)
}

func (nd *Node) blameLocked(member int, kind string) {
	if member < 0 || member >= nd.n {
		return
	}
	b := &nd.blames
	if b.counts == nil {
		b.counts = map[int]map[string]uint64{}
	}
	m := b.counts[member]
	if m == nil {
		m = map[string]uint64{}
		b.counts[member] = m
	}
	m[kind]++
}

// blameSnapshotLocked copies the counts for Status (caller holds nd.mu).
func (nd *Node) blameSnapshotLocked() map[int]map[string]uint64 {
	if len(nd.blames.counts) == 0 {
		return nil
	}
	out := make(map[int]map[string]uint64, len(nd.blames.counts))
	for member, kinds := range nd.blames.counts {
		out[member] = maps.Clone(kinds)
	}
	return out
}

// noteSilent names the members that signed no vote at all at a height this peer just decided: a
// withholding (or crashed) member. Called from the event loop before the height's votes are pruned.
func (nd *Node) noteSilent(height uint64) {
	voted := make([]bool, nd.n)
	for key := range nd.loop.votes {
		if key.vote.Height == height && key.voter >= 0 && key.voter < nd.n {
			voted[key.voter] = true
		}
	}
	for member, ok := range voted {
		if !ok && member != nd.self {
			nd.blame(member, blameSilent)
		}
	}
}

// attribute names the signer of a gossip message that failed a check made after its signature was
// verified (so the signer really sent it): stale, future, unsampled, non-leader, wrong dimension or a
// member field that differs from the signer. Malformed or badly signed messages name nobody: anyone
// could have made them, and gossip scoring already penalises the peer that forwarded them.
func (nd *Node) attribute(data []byte, err error) {
	var kind string
	switch {
	case errors.Is(err, errStale):
		kind = blameStale
	case errors.Is(err, errFuture):
		kind = blameFuture
	case errors.Is(err, errSampled), errors.Is(err, errLeader), errors.Is(err, errDim), errors.Is(err, errSender):
		kind = blameInvalid
	default:
		return
	}
	var env wire.Envelope
	if wire.Unmarshal(data, &env, nd.lim) != nil || int(env.Signer) >= nd.n {
		return
	}
	nd.blame(int(env.Signer), kind)
	if kind == blameStale {
		nd.checkStaleVote(&env) // doublevote.go: the second of two votes often arrives late
	}
}
