package accountability

// Timing offences are judged with slack, because an honest member that is a little slower than the
// quorum sends its votes and round messages after the others decided, every height.
const (
	// SilenceGrace: a member is named silent at height h only if no vote of it for h arrived by the
	// time this peer decided h+SilenceGrace (a late vote clears the suspicion). Generous: on a loaded
	// machine an honest member's process can stall for a few heights' worth of time (two heights named
	// honest members silent in attack runs on a busy 2-core VM); a withholder is named all the same.
	SilenceGrace = 8
	// SilenceGraceTicks: ... and at least this many ticks later (half a second by default). The vote
	// relay holds a late vote for up to one tick, and a fast cluster decides several heights a tick.
	SilenceGraceTicks = 50
	// StaleGrace: a signed message for a height at most StaleGrace below the current one is normal
	// lateness; older ones are named stale. As for silence, a stalled honest process lags heights.
	StaleGrace = 8
	// LateAllowance is how many late (within StaleGrace) signed messages a member may send per
	// height before each further one is named stale: an honest member signs one round message and
	// a prevote and a precommit per attempt and repeats some (rebroadcasts), and a height rarely needs
	// more than a few attempts.
	LateAllowance = 16
)

type lateKey struct {
	member int
	height uint64
}

// Suspicion is what the silence judgement knows of one member that had no vote at a decided height.
type Suspicion struct {
	Height    uint64 // the decided height without a vote of the member
	DecidedAt uint64 // the tick at which this peer decided it
	// VoteAbove is 1 + the highest height of a vote of the member seen since (0: none); AliveAbove
	// the same for its other signed messages (round messages and proposals).
	VoteAbove, AliveAbove uint64
}

// JudgeSilence judges a suspicion once this peer decided height decided and its clock reads now
// (ticks). due reports whether the grace ran out — SilenceGrace heights and SilenceGraceTicks ticks —
// so the suspicion is settled; silent, whether the member is then named: no vote of it for a later
// height arrived (it did not merely fall behind and skip heights by fetching a decided state) and
// some other signed message of it for that height or a later one shows it was running (this peer
// cannot tell a member it hears nothing from — not started, crashed or cut off — from a withholding
// one). A vote for the height itself clears the suspicion before it is judged (ClearSilent).
func JudgeSilence(s Suspicion, decided, now uint64) (due, silent bool) {
	if s.Height+SilenceGrace > decided || now < s.DecidedAt+SilenceGraceTicks {
		return false, false
	}
	return true, s.VoteAbove <= s.Height+1 && s.AliveAbove > s.Height
}

// NoteSilent is called from the event loop when this peer decides height, at tick now, with the
// voters of that height it holds (before the height's votes are pruned). Members with no vote at
// this height become suspects of it; suspects of heights whose grace ran out are judged (JudgeSilence).
// That names a member that sends round messages or proposals but withholds its votes, but not one
// that is merely slower than the quorum, nor one that fell behind and skipped heights, nor one this
// peer hears nothing from. The price: a member withholding its votes at some heights only is not
// named silent for them, for it cannot be told apart from one that fell behind; and a crashed member
// is not named at all.
func (b *Book) NoteSilent(height, now uint64, voters func(each func(voter int))) {
	suspect := make([]bool, b.n)
	anySuspect := false
	for member := range suspect {
		suspect[member] = member != b.self
	}
	if voters != nil {
		voters(func(voter int) {
			if voter >= 0 && voter < b.n {
				suspect[voter] = false
			}
		})
	}
	for _, s := range suspect {
		anySuspect = anySuspect || s
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if anySuspect {
		b.suspects[height], b.suspectTick[height] = suspect, now
	}
	b.judgeSilentLocked(height, now)
}

// JudgeSilent judges the suspects whose grace ran out by time alone, given that height decided is the
// last one decided (called every tick: the last heights of a run get no later decision to trigger
// their judgement).
func (b *Book) JudgeSilent(decided, now uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.judgeSilentLocked(decided, now)
}

// judgeSilentLocked names, for every suspect height old enough given that height decided was just
// decided (including ones left behind when this peer skipped heights by syncing), the members still
// silent.
func (b *Book) judgeSilentLocked(decided, now uint64) {
	for h, members := range b.suspects {
		s := Suspicion{Height: h, DecidedAt: b.suspectTick[h]}
		if due, _ := JudgeSilence(s, decided, now); !due {
			continue
		}
		for member, ok := range members {
			s.VoteAbove, s.AliveAbove = b.voteAbove[member], b.aliveAbove[member]
			if _, silent := JudgeSilence(s, decided, now); ok && silent {
				b.blameLocked(member, Silent)
			}
		}
		delete(b.suspects, h)
		delete(b.suspectTick, h)
	}
}

// ClearSilent records that a vote of member for height arrived (perhaps after this peer decided it),
// so it is not named silent there nor at earlier heights still in doubt.
func (b *Book) ClearSilent(member int, height uint64) {
	if member < 0 || member >= b.n {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.suspects[height]; member < len(s) {
		s[member] = false
	}
	b.voteAbove[member] = max(b.voteAbove[member], height+1)
}

// NoteAlive records a signed round message or proposal of member for height: it is running, so if it
// sends no votes it withholds them.
func (b *Book) NoteAlive(member int, height uint64) {
	if member < 0 || member >= b.n {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.aliveAbove[member] = max(b.aliveAbove[member], height+1)
}

// HeardAbove returns 1 + the highest height of any signed vote, round message or proposal of member
// seen, 0 if none (or member is out of range).
func (b *Book) HeardAbove(member int) uint64 {
	if member < 0 || member >= b.n {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.voteAbove[member], b.aliveAbove[member])
}

// NoteStale judges a signed message of member for height, which arrived after this peer moved past
// height to cur: older than StaleGrace heights, or beyond LateAllowance for one recent height, it is
// named stale; otherwise it is ordinary lateness.
func (b *Book) NoteStale(member int, height, cur uint64) {
	if member < 0 || member >= b.n {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if height+StaleGrace < cur {
		b.blameLocked(member, Stale)
		return
	}
	// Forget heights out of the window; what is left is bounded by n·(StaleGrace+1) keys.
	for k := range b.late {
		if k.height+StaleGrace < cur {
			delete(b.late, k)
		}
	}
	key := lateKey{member, height}
	b.late[key]++
	if b.late[key] > LateAllowance {
		b.blameLocked(member, Stale)
	}
}
