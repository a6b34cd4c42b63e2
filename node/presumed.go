package node

import "github.com/byzpp/byzpp/consensus"

// Presumed-dead members and distrusted leaders are package liveness's (nd.loop.live, whose doc says
// why each is only a choice of when to stop waiting): this file tells it what the loop heard and acts
// on its answers. A leader proposes without waiting for the messages of sampled members presumed dead
// (sampleHeldOrDead); a member gives up on a presumed-dead or distrusted proposer at once
// (consensus.Machine.GiveUpOnProposer: its propose timeout, early); votes for a presumed-dead or
// distrusted relay leader go to every member instead (relay.go). Blame (blame.go) uses the same
// window: omissions within liveness.DistrustHeights heights.

// presumedDeadTicks is how long a member must have been silent to be presumed dead: the time a
// height may take before a peer asks for a certified state (onTick), two seconds by default.
func (nd *Node) presumedDeadTicks() uint64 {
	t := nd.gen.Timeouts
	return uint64(t.ProposeBase + t.PrevoteBase + t.PrecommitBase)
}

// heardFrom records that member is alive now.
func (nd *Node) heardFrom(member int) { nd.loop.live.Heard(member, nd.loop.ticks) }

// presumedDead reports whether member has been silent for presumedDeadTicks (never this peer).
func (nd *Node) presumedDead(member int) bool {
	return nd.loop.live.PresumedDead(member, nd.loop.ticks)
}

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
	if p := nd.leaderOf(st.Height, st.Round); nd.presumedDead(p) || nd.loop.live.Distrusted(p, st.Height) {
		nd.cm.GiveUpOnProposer(st.Height, st.Round)
	}
}
