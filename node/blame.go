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
	blameSilent      = "silent"  // no vote of it for a height this peer decided, even silenceGrace heights later
	blameStale       = "stale"   // a signed message for a height long decided, or too many just after
	blameFuture      = "future"  // a signed message too far ahead
	blameInvalid     = "invalid" // a signed message that fails a check (not sampled, not leader, dimension)
)

// blameBook counts, per member and kind, the misbehaviour this peer has seen. It is guarded by
// Node.mu because gossip validators (other goroutines) write to it too. Offences that can recur for
// the same slot (a proposal is rebroadcast) are counted once per key.
type blameBook struct {
	counts map[int]map[string]uint64
	once   map[blameOnce]bool
	// suspects holds, per decided height not judged yet, the members of which no vote for that
	// height has arrived yet (see noteSilent), and suspectTick the tick at which it was decided.
	suspects    map[uint64][]bool
	suspectTick map[uint64]uint64
	// voteAbove holds, per member, 1 + the highest height of a vote of it seen (0: none yet);
	// aliveAbove the same for its other signed messages (round messages and proposals).
	voteAbove, aliveAbove []uint64
	// late counts, per member and recently decided height, the signed messages that arrived after
	// this peer decided it (see noteStale); only heights within staleGrace are kept.
	late map[lateKey]int
}

type lateKey struct {
	member int
	height uint64
}

// Timing offences are judged with slack, because an honest member that is a little slower than the
// quorum sends its votes and round messages after the others decided, every height.
const (
	// silenceGrace: a member is named silent at height h only if no vote of it for h arrived by the
	// time this peer decided h+silenceGrace (a late vote clears the suspicion).
	silenceGrace = 2
	// silenceGraceTicks: ... and at least this many ticks later. The vote relay holds a late vote for
	// up to one tick before forwarding it (relay.go), so heights alone are not enough: a fast cluster
	// decides several heights within that tick.
	silenceGraceTicks = 3
	// staleGrace: a signed message for a height at most staleGrace below the current one is normal
	// lateness; older ones are named stale.
	staleGrace = 2
	// lateAllowance is how many late (within staleGrace) signed messages a member may send per
	// height before each further one is named stale: an honest member signs one round message and
	// a prevote and a precommit per attempt, and a height rarely needs more than a few attempts.
	lateAllowance = 8
)

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

// noteSilent is called from the event loop when this peer decides height (before the height's votes
// are pruned). Members with no vote at this height become suspects of it; suspects of heights at
// least silenceGrace below are named silent, unless a late vote of theirs for that height, or any
// vote of theirs for a later height, arrived since (clearSilent), and only if some other signed
// message of theirs for that height or a later one shows they were running (noteAlive). That names a
// member that sends round messages or proposals but withholds its votes, but not one that is merely
// slower than the quorum, nor one that fell behind and skipped heights by fetching a decided state
// (it never voted there, but it votes again after), nor one this peer hears nothing from (not started
// yet, crashed or cut off: this peer cannot tell which). The price: a member withholding its votes at
// some heights only is not named silent for them, for it cannot be told apart from one that fell
// behind; and a crashed member is not named at all.
func (nd *Node) noteSilent(height uint64) {
	suspect := make([]bool, nd.n)
	anySuspect := false
	for member := range suspect {
		suspect[member] = member != nd.self
	}
	nd.loop.votes.Voters(height, func(voter int) {
		if voter >= 0 && voter < nd.n {
			suspect[voter] = false
		}
	})
	for _, s := range suspect {
		anySuspect = anySuspect || s
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	b := &nd.blames
	if b.suspects == nil {
		b.suspects, b.suspectTick = map[uint64][]bool{}, map[uint64]uint64{}
	}
	b.heightsLocked(nd.n)
	if anySuspect {
		b.suspects[height], b.suspectTick[height] = suspect, nd.loop.ticks
	}
	nd.judgeSilentLocked(height)
}

// judgeSilent judges the suspects whose grace ran out by time alone (called every tick: the last
// heights of a run get no later decision to trigger their judgement).
func (nd *Node) judgeSilent() {
	if nd.eng == nil || nd.eng.Round() == 0 {
		return
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	nd.judgeSilentLocked(nd.eng.Round() - 1)
}

// judgeSilentLocked names, for every suspect height old enough given that height was just decided
// (including ones left behind when this peer skipped heights by syncing), the members still silent.
func (nd *Node) judgeSilentLocked(height uint64) {
	b := &nd.blames
	for h, members := range b.suspects {
		if h+silenceGrace > height || nd.loop.ticks < b.suspectTick[h]+silenceGraceTicks {
			continue
		}
		for member, ok := range members {
			if ok && b.voteAbove[member] <= h+1 && b.aliveAbove[member] > h {
				nd.blameLocked(member, blameSilent)
			}
		}
		delete(b.suspects, h)
		delete(b.suspectTick, h)
	}
}

// clearSilent records that a vote of member for height arrived (perhaps after this peer decided it),
// so it is not named silent there nor at earlier heights still in doubt. Safe from any goroutine.
func (nd *Node) clearSilent(member int, height uint64) {
	if member < 0 || member >= nd.n {
		return
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	b := &nd.blames
	if s := b.suspects[height]; member < len(s) {
		s[member] = false
	}
	b.heightsLocked(nd.n)
	b.voteAbove[member] = max(b.voteAbove[member], height+1)
}

// noteAlive records a signed round message or proposal of member for height: it is running, so if it
// sends no votes it withholds them. Safe from any goroutine.
func (nd *Node) noteAlive(member int, height uint64) {
	if member < 0 || member >= nd.n {
		return
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	b := &nd.blames
	b.heightsLocked(nd.n)
	b.aliveAbove[member] = max(b.aliveAbove[member], height+1)
}

func (b *blameBook) heightsLocked(n int) {
	if b.voteAbove == nil {
		b.voteAbove, b.aliveAbove = make([]uint64, n), make([]uint64, n)
	}
}

// noteStale judges a signed message of member for height, which arrived after this peer moved past
// height to cur: older than staleGrace heights, or beyond lateAllowance for one recent height, it is
// named stale; otherwise it is ordinary lateness.
func (nd *Node) noteStale(member int, height, cur uint64) {
	if member < 0 || member >= nd.n {
		return
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if height+staleGrace < cur {
		nd.blameLocked(member, blameStale)
		return
	}
	b := &nd.blames
	if b.late == nil {
		b.late = map[lateKey]int{}
	}
	// Forget heights out of the window; what is left is bounded by n·(staleGrace+1) keys.
	for k := range b.late {
		if k.height+staleGrace < cur {
			delete(b.late, k)
		}
	}
	key := lateKey{member, height}
	b.late[key]++
	if b.late[key] > lateAllowance {
		nd.blameLocked(member, blameStale)
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
	if kind != blameStale {
		nd.blame(int(env.Signer), kind)
		return
	}
	cur := nd.current.Load()
	m, err := env.Open(nd.lim)
	if err != nil {
		nd.blame(int(env.Signer), kind) // stale by the check that just ran; its height is unreadable
		return
	}
	signer := int(env.Signer)
	switch b := m.(type) {
	case *wire.Vote:
		if b.Run == nd.run {
			nd.clearSilent(signer, b.Height)
		}
		nd.noteStale(signer, b.Height, cur)
	case *wire.Proposal:
		if b.Run == nd.run {
			nd.noteAlive(signer, b.Height)
		}
		nd.noteStale(signer, b.Height, cur)
	case *wire.RoundMsg:
		if b.Run == nd.run {
			nd.noteAlive(signer, b.Round)
		}
		nd.noteStale(signer, b.Round, cur)
	default:
		nd.blame(signer, kind)
	}
	nd.checkStaleVote(&env) // doublevote.go: the second of two votes often arrives late
}
