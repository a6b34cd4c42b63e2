package node

import "github.com/byzpp/byzpp/consensus"

// Presumed-dead members. Volunteers' laptops crash, sleep and lose their network; Tendermint only
// tolerates that through timeouts, and a timeout per dead member per height — the leader waiting out
// its collection window for a dead sampled member's message, every member waiting out the propose
// timeout of a dead leader, votes sent to a dead relay leader — took a 4-member run from 15 decided
// rounds per second of protocol time to 0.9 with one member dead (TestCrashTolerantRate). So each
// peer keeps its own view of who is alive: a member it has heard nothing from (no vote, proposal or
// round message, directly or relayed under the member's own signature or MAC) for presumedDeadTicks
// is presumed dead, until anything from it arrives again. A leader then proposes without waiting for
// the messages of sampled members presumed dead; a member gives up on a presumed-dead proposer at once
// (consensus.Machine.GiveUpOnProposer: its propose timeout, early); votes for a presumed-dead relay
// leader go to every member instead. Each of these is a local choice of when to stop waiting, which
// Tendermint leaves to each member: a wrong presumption costs an attempt or a member's message in
// one round, never agreement. Messages of a member presumed dead that arrive anyway are still used.

// presumedDeadTicks is how long a member must have been silent to be presumed dead: the time a
// height may take before a peer asks for a certified state (onTick), two seconds by default.
func (nd *Node) presumedDeadTicks() uint64 {
	t := nd.gen.Timeouts
	return uint64(t.ProposeBase + t.PrevoteBase + t.PrecommitBase)
}

// heardFrom records that member is alive now. The silence of every member is counted from the first
// time this peer hears anyone, not from its start: a peer whose network is slow to come up must not
// presume everyone dead.
func (nd *Node) heardFrom(member int) {
	if member < 0 || member >= len(nd.loop.lastHeard) {
		return
	}
	if !nd.loop.heardAny {
		nd.loop.heardAny = true
		for i := range nd.loop.lastHeard {
			nd.loop.lastHeard[i] = nd.loop.ticks
		}
	}
	nd.loop.lastHeard[member] = nd.loop.ticks
	nd.loop.everHeard[member] = true
}

// presumedDead reports whether member has been silent for presumedDeadTicks (never this peer).
func (nd *Node) presumedDead(member int) bool {
	if !nd.loop.heardAny || member == nd.self || member < 0 || member >= len(nd.loop.lastHeard) {
		return false
	}
	wait := nd.presumedDeadTicks()
	if !nd.loop.everHeard[member] {
		// Never heard at all: it may be starting late (a testnet's processes start seconds apart, and
		// proposing without a late starter's message would leave the simulator's curve). Ten times
		// the patience, then it is presumed dead like any other.
		wait *= neverHeardPatience
	}
	return nd.loop.ticks-nd.loop.lastHeard[member] > wait
}

// neverHeardPatience multiplies presumedDeadTicks for a member never heard since this peer started.
const neverHeardPatience = 3

// sampleHeldOrDead reports whether the leader holds the message of every member sampled in the
// current round that is not presumed dead: it need not wait any longer.
func (nd *Node) sampleHeldOrDead() bool {
	if nd.eng.Complete() {
		return true
	}
	k := nd.eng.Round()
	held := make(map[int]bool, len(nd.eng.Plan(k).Sample))
	for _, s := range nd.eng.Held(k) {
		held[s.Msg.Member] = true
	}
	for _, m := range nd.eng.Plan(k).Sample {
		// A member caught equivocating has its round messages dropped: waiting for one is waiting
		// out the whole window (an equivocator slowed the run to a mute member's pace so).
		if !held[m] && !nd.presumedDead(m) && !nd.acct.Faulty(m) {
			return false
		}
	}
	return true
}

// giveUpOnDeadProposer ends the wait for the current attempt's proposal when its proposer is presumed
// dead or distrusted.
func (nd *Node) giveUpOnDeadProposer() {
	st := nd.cm.Status()
	if !st.Started || st.Decided || st.Step != consensus.StepPropose {
		return
	}
	if p := nd.leaderOf(st.Height, st.Round); nd.presumedDead(p) || nd.distrusted(p, st.Height) {
		nd.cm.GiveUpOnProposer(st.Height, st.Round)
	}
}

// Distrusted leaders. A member that led badly — a proposal this peer refused (a wrong aggregate, a
// censored sample, two proposals for one slot) or a relay attempt that moved nothing — is distrusted
// for distrustHeights heights: this peer does not wait for its proposals (it prevotes nil at once, as
// on a dead proposer) nor send its votes through it. Like the presumption of death this is each
// peer's own choice of when to stop waiting, so it affects liveness only; it turns the timeout a
// Byzantine leader costs at every height it leads into one per distrustHeights. An honest member
// distrusted by mistake (a proposal this peer judged censored because a message reached it early)
// loses its turns as leader for a while, nothing else.
const distrustHeights = 100

// distrust records that member led badly at height h.
func (nd *Node) distrust(member int, h uint64) {
	if member < 0 || member >= len(nd.loop.distrustedAt) || member == nd.self {
		return
	}
	nd.loop.distrustedAt[member] = h + 1 // 0: never
}

// distrustRelay records that member, as relay leader, moved nothing with our vote at height h: our
// votes do not go through it for distrustHeights heights (its proposals are still waited for).
func (nd *Node) distrustRelay(member int, h uint64) {
	if member >= 0 && member < len(nd.loop.relayDistrustedAt) && member != nd.self {
		nd.loop.relayDistrustedAt[member] = h + 1
	}
}

// relayDistrusted reports whether our votes should not go through member at height h: it led badly
// or failed to relay within the last distrustHeights heights.
func (nd *Node) relayDistrusted(member int, h uint64) bool {
	if nd.distrusted(member, h) {
		return true
	}
	if member < 0 || member >= len(nd.loop.relayDistrustedAt) {
		return false
	}
	at := nd.loop.relayDistrustedAt[member]
	return at > 0 && h < at-1+distrustHeights
}

// distrusted reports whether member led badly within the last distrustHeights heights before h.
func (nd *Node) distrusted(member int, h uint64) bool {
	if member < 0 || member >= len(nd.loop.distrustedAt) {
		return false
	}
	at := nd.loop.distrustedAt[member]
	return at > 0 && h < at-1+distrustHeights
}
