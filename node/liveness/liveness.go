package liveness

// Presumed-dead members. Volunteers' laptops crash, sleep and lose their network; Tendermint only
// tolerates that through timeouts, and a timeout per dead member per height — the leader waiting out
// its collection window for a dead sampled member's message, every member waiting out the propose
// timeout of a dead leader, votes sent to a dead relay leader — took a 4-member run from 15 decided
// rounds per second of protocol time to 0.9 with one member dead (node's TestCrashTolerantRate). So
// each peer keeps its own view of who is alive: a member it has heard nothing from (no vote, proposal
// or round message, directly or relayed under the member's own signature or MAC) for the dead wait is
// presumed dead, until anything from it arrives again. The node's leader then proposes without
// waiting for the messages of sampled members presumed dead; a member gives up on a presumed-dead
// proposer at once; votes for a presumed-dead relay leader go to every member instead. Messages of a
// member presumed dead that arrive anyway are still used.
//
// Distrusted leaders. A member that led badly — a proposal this peer refused (a wrong aggregate, a
// censored sample, two proposals for one slot) or a relay attempt that moved nothing — is distrusted
// for DistrustHeights heights: this peer does not wait for its proposals (it prevotes nil at once, as
// on a dead proposer) nor send its votes through it. It turns the timeout a Byzantine leader costs at
// every height it leads into one per DistrustHeights. An honest member distrusted by mistake (a
// proposal this peer judged censored because a message reached it early) loses its turns as leader
// for a while, nothing else.

// DistrustHeights is how many heights a leader that led badly stays distrusted.
const DistrustHeights = 100

// NeverHeardPatience multiplies the dead wait for a member never heard since this peer started: it
// may be starting late (a testnet's processes start seconds apart, and proposing without a late
// starter's message would leave the simulator's curve).
const NeverHeardPatience = 3

// View is one peer's view of its members' liveness and of the leaders it distrusts.
type View struct {
	self      int
	deadTicks uint64
	heardAny  bool
	// lastHeard is, per member, the tick anything was last heard from it; everHeard whether ever.
	lastHeard []uint64
	everHeard []bool
	// distrustedAt is, per member, 1 + the height at which it last led badly (0: never);
	// relayDistrustedAt the same for relay leaders that moved nothing with our votes.
	distrustedAt      []uint64
	relayDistrustedAt []uint64
}

// New returns the view of member self among n members, presuming dead a member silent for more than
// deadTicks ticks.
func New(n, self int, deadTicks uint64) *View {
	return &View{self: self, deadTicks: deadTicks, lastHeard: make([]uint64, n), everHeard: make([]bool, n),
		distrustedAt: make([]uint64, n), relayDistrustedAt: make([]uint64, n)}
}

// Heard records that member is alive at tick now. The silence of every member is counted from the
// first time this peer hears anyone, not from its start: a peer whose network is slow to come up
// must not presume everyone dead.
func (v *View) Heard(member int, now uint64) {
	if member < 0 || member >= len(v.lastHeard) {
		return
	}
	if !v.heardAny {
		v.heardAny = true
		for i := range v.lastHeard {
			v.lastHeard[i] = now
		}
	}
	v.lastHeard[member] = now
	v.everHeard[member] = true
}

// PresumedDead reports whether member has been silent at tick now for the dead wait (never this
// peer), NeverHeardPatience times it for a member never heard.
func (v *View) PresumedDead(member int, now uint64) bool {
	if !v.heardAny || member == v.self || member < 0 || member >= len(v.lastHeard) {
		return false
	}
	wait := v.deadTicks
	if !v.everHeard[member] {
		wait *= NeverHeardPatience
	}
	return now-v.lastHeard[member] > wait
}

// Distrust records that member led badly at height h.
func (v *View) Distrust(member int, h uint64) {
	if member >= 0 && member < len(v.distrustedAt) && member != v.self {
		v.distrustedAt[member] = h + 1
	}
}

// DistrustRelay records that member, as relay leader, moved nothing with our vote at height h: our
// votes do not go through it for DistrustHeights heights (its proposals are still waited for).
func (v *View) DistrustRelay(member int, h uint64) {
	if member >= 0 && member < len(v.relayDistrustedAt) && member != v.self {
		v.relayDistrustedAt[member] = h + 1
	}
}

// Distrusted reports whether member led badly within the last DistrustHeights heights before h.
func (v *View) Distrusted(member int, h uint64) bool {
	return member >= 0 && member < len(v.distrustedAt) && within(v.distrustedAt[member], h)
}

// RelayDistrusted reports whether our votes should not go through member at height h: it led badly
// or failed to relay within the last DistrustHeights heights.
func (v *View) RelayDistrusted(member int, h uint64) bool {
	if v.Distrusted(member, h) {
		return true
	}
	return member >= 0 && member < len(v.relayDistrustedAt) && within(v.relayDistrustedAt[member], h)
}

// within reports whether a record at (1 + height) is within DistrustHeights heights before h.
func within(at, h uint64) bool { return at > 0 && h < at-1+DistrustHeights }
