package node

import (
	"cmp"
	"slices"
	"time"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Linear vote dissemination. Sending every vote to every member costs n·(n−1) messages per vote step,
// and per message the system calls and goroutine hand-offs dominate a peer's CPU. So in attempt 0 of a
// height a member sends its signed vote only to the step's relay leader (relayLeader: the proposer of
// (k, 0) for prevotes, the proposer of (k+1, 0) for precommits — see below), with an authenticator: for every other member j, MAC_j = HMAC-SHA256(K_ij, voter ‖ j ‖ SHA-256(envelope))
// truncated to 16 bytes, K_ij the pairwise key (pairkey.go). The leader counts the vote as one arriving
// from its signer (lazy, direct.go) and forwards every vote it holds to every member j in a bundle,
// each vote with MAC_j only (its own vote too, needing no MAC: it comes over the leader's own channel):
// 2(n−1) messages per vote step instead of n(n−1). It flushes as soon as it
// holds a quorum of a vote step (its own vote counted), and whatever is pending once the oldest pending
// vote of another member has waited one tick: no relayed vote waits longer than that.
//
// Why lazy verification stays safe. A receiver j counts a relayed vote without checking its signature
// only if MAC_j holds. Only the voter and j know K_ij, so a MAC that holds proves the voter sent exactly
// this envelope (to be delivered to j): a Byzantine leader can drop, delay or reorder votes, but it
// cannot forge or alter an honest voter's vote, nor make j count a vote twice under another name. What
// j counts is therefore exactly what the voters sent, the same guarantee as a vote over the voter's own
// authenticated channel, and the rest of lazy verification is unchanged: the signature is still
// checked before the vote goes into a certificate or is relayed by consensus (checkedVote), and a
// voter that authenticated a badly signed vote is caught there. Signatures cost ~50 µs, a MAC ~1 µs:
// verifying the bundle's signatures instead would cost each receiver 2·quorum Ed25519 checks per height.
// A vote whose MAC fails is dropped and counted (Status.RelayMACFailures): the leader or the voter lied.
//
// Liveness when the leader is slow, silent or lying: a leader can withhold the votes it relays, so the
// relay is used only where it cannot cost more than a fraction of a timeout, and everything else goes
// all-to-all as before:
//   - attempts a ≥ 1 of a height (an attempt 0 that failed suggests the leader did);
//   - every rebroadcast consensus asks for (repeats of our messages, Ready.Relay);
//   - votes cast before the leader's proposal of (k, 0) arrived (a nil prevote after the propose
//     timeout: the leader is evidently not working);
//   - a vote sent to the leader that moved nothing (same height, attempt and step) for
//     PrevoteBase/relayFallbackDiv ticks is sent to everyone.
//
// A receiver treats a relayed vote whose MAC holds exactly as one from its signer, so blame (blame.go)
// sees the voter's presence either way.
//
// Why precommits go to the next height's leader. The precommits of height k decide it, and the first
// thing to leave after that is the proposal of (k+1, 0) from its leader. When that leader also relays
// k's precommits, it forwards the quorum, decides, and proposes at once: the precommit bundle and the
// proposal leave together, in one write per member, and a round takes four message hops instead of
// five. The round messages of k+1 that members send ahead (speculate.go) go to it too and leave in
// the same write, before the proposal that includes them.

// relayFallbackDiv: a vote sent only to the leader goes to every member after PrevoteBase/relayFallbackDiv
// ticks without progress.
const relayFallbackDiv = 4

// relayMinMembers is the smallest membership that relays votes. The relay trades n(n−1) messages per
// vote step for 2(n−1) and one more hop; with few members the messages saved do not pay for the hop
// (measured on loopback: 4 peers decided up to a fifth fewer rounds per second through the relay, 10
// peers about a third more).
const relayMinMembers = 7

// relayVotesPerVoter bounds how many votes of one voter the leader forwards per vote step: an honest
// voter sends one; two let an equivocation through to be noticed, more would only be spam.
const relayVotesPerVoter = 2

// relayGroup is one vote step of one attempt the leader relays.
type relayGroup struct {
	height uint64
	typ    consensus.VoteType
}

// relayBatch is what the leader knows of one vote step: who voted (any path), what waits to go out.
type relayBatch struct {
	voters  []bool
	count   int
	taken   []uint8 // votes forwarded or pending per voter
	pending []relayedVote
	flushed bool // the quorum went out; later votes wait for the next tick
}

// relayedVote is a vote the leader received with its authenticator.
type relayedVote struct {
	group relayGroup
	voter int
	raw   []byte
	macs  []wire.MAC
	// handedOver: a past leader handed it to us (handover.go); we forward it, never hand it on.
	handedOver bool
	// late: it reached us after its step's quorum went out (only such votes are handed over).
	late bool
}

// relayWait is our own vote sent only to the leader, with the consensus position it was cast in.
type relayWait struct {
	raw    []byte
	since  uint64
	height uint64
	round  uint32
	step   consensus.Step
}

// relayState is the event loop's relay bookkeeping.
type relayState struct {
	groups  map[relayGroup]*relayBatch
	waiting map[voteKey]relayWait
	// heardLeader holds the heights whose attempt-0 proposal from its leader arrived.
	heardLeader map[uint64]bool
	// due is when the oldest pending vote has waited one tick (zero: nothing pending); timer fires
	// then (Run's select), armed for due.
	due, armed time.Time
	timer      *time.Timer
	// adopted holds late votes a past leader handed over, for our next bundles (handover.go).
	adopted     []relayedVote
	adoptedSeen map[[32]byte]bool // envelope digests in adopted
	// rounds holds next-round messages sent to us to forward with our bundles (speculate.go).
	rounds             []relayedRound
	roundBundlesOut    uint64
	speculated         uint64 // our next-round messages sent ahead of their decision
	speculationMisses  uint64 // ... computed at a state then not decided
	speculationResends uint64 // ... sent to every member because no proposal included them in time
	bundlesOut         uint64
	handoversOut       uint64
	votesOut           uint64 // votes forwarded, counted once per receiver
	fallbacks          uint64 // our votes re-sent to everyone because the leader moved nothing
}

func (r *relayState) init() {
	r.groups = map[relayGroup]*relayBatch{}
	r.waiting = map[voteKey]relayWait{}
	r.heardLeader = map[uint64]bool{}
}

// bundleIn is a vote bundle whose MACs held: each vote is handled as one from its signer.
type bundleIn struct {
	votes []*voteIn
}

// leaderOf is the proposer of (height, attempt).
func (nd *Node) leaderOf(height uint64, attempt uint32) int {
	return method.Leader(nd.gen.Spec.Seed, height, attempt, nd.n)
}

// relayLeader is the member that relays v, a vote of attempt 0: the proposer of (k, 0) for a prevote
// of height k, the proposer of (k+1, 0) for a precommit (the proposer of (k, 0) when k+1 belongs to
// the next epoch's member list).
func (nd *Node) relayLeader(v consensus.Vote) int {
	if v.Type == consensus.Precommit && !nd.beyondEpoch(v.Height+1) {
		return nd.leaderOf(v.Height+1, 0)
	}
	return nd.leaderOf(v.Height, v.Round)
}

// sendVote sends our freshly signed vote: to the leader with an authenticator when the relay applies,
// otherwise to every member.
func (nd *Node) sendVote(v consensus.Vote, raw []byte) {
	nd.relayCount(voteKey{voter: nd.self, vote: v})
	viaRelay := nd.relayOwn(v, raw) || nd.sendViaLeader(v, raw)
	if !viaRelay {
		nd.broadcast(raw)
	}
	nd.speculate(v, viaRelay) // speculate.go: our next message goes ahead to the next leader
}

// relayOwn queues our own vote of a step we relay (we lead attempt 0) into the bundles: it still goes
// straight from us to every member, over our own authenticated channel (no MAC needed), only in the
// same message as the others' votes instead of in n−1 messages of its own. It is treated as any
// member treats the vote it sent to the leader: it goes out with the step's quorum (before that it is
// of no use to the receivers) or with any earlier flush, and if nothing moved for the fallback period,
// to everyone (relayTick). It does not start the one-tick clock: a leader votes at once on its own
// proposal, and flushing that vote alone a tick later cost a bundle per receiver at most steps.
func (nd *Node) relayOwn(v consensus.Vote, raw []byte) bool {
	if nd.cfg.DirectVotes {
		return false
	}
	b := nd.relayBatchFor(v)
	if b == nil {
		return false
	}
	b.taken[nd.self]++
	b.pending = append(b.pending, relayedVote{group: relayGroup{v.Height, v.Type}, voter: nd.self, raw: raw})
	nd.awaitProgress(v, raw)
	return true
}

func (nd *Node) sendViaLeader(v consensus.Vote, raw []byte) bool {
	if nd.pairs == nil || nd.cfg.DirectVotes || nd.n < nd.relayMin || v.Round != 0 {
		return false
	}
	leader := nd.relayLeader(v)
	if leader == nd.self || !nd.loop.relay.heardLeader[v.Height] || !nd.pairs.ok[leader] || nd.presumedDead(leader) {
		return false
	}
	frame, err := (&wire.AuthVote{Envelope: raw, MACs: nd.pairs.authenticator(envelopeDigest(raw))}).Marshal()
	if err != nil {
		nd.log.Debug("encoding an authenticated vote", "err", err)
		return false
	}
	nd.sendTo(leader, frame)
	nd.awaitProgress(v, raw)
	return true
}

// awaitProgress remembers our vote sent only through the leader, to send it to everyone if nothing
// moves (relayTick).
func (nd *Node) awaitProgress(v consensus.Vote, raw []byte) {
	cs := nd.cm.Status()
	nd.loop.relay.waiting[voteKey{voter: nd.self, vote: v}] = relayWait{raw: raw, since: nd.loop.ticks,
		height: cs.Height, round: cs.Round, step: cs.Step}
}

// noteLeaderProposal records that the leader's attempt-0 proposal of height arrived (onProposal).
func (nd *Node) noteLeaderProposal(height uint64, attempt uint32) {
	if attempt == 0 && height+1 >= nd.eng.Round() {
		nd.loop.relay.heardLeader[height] = true
	}
}

// relayCount counts a vote of a step we relay (attempt 0 of a height we lead), whatever path it came by.
func (nd *Node) relayCount(k voteKey) {
	b := nd.relayBatchFor(k.vote)
	if b == nil || b.voters[k.voter] {
		return
	}
	b.voters[k.voter] = true
	b.count++
}

func (nd *Node) relayBatchFor(v consensus.Vote) *relayBatch {
	if nd.pairs == nil || nd.n < nd.relayMin || v.Round != 0 || v.Voter < 0 || v.Voter >= nd.n || nd.relayLeader(v) != nd.self {
		return nil
	}
	g := relayGroup{height: v.Height, typ: v.Type}
	b := nd.loop.relay.groups[g]
	if b == nil {
		b = &relayBatch{voters: make([]bool, nd.n), taken: make([]uint8, nd.n)}
		nd.loop.relay.groups[g] = b
	}
	return b
}

// relayIntake queues a vote that reached us, the leader, with its authenticator.
func (nd *Node) relayIntake(in *voteIn) {
	cv := in.vote()
	if cv.Height+staleGrace < nd.eng.Round() {
		return
	}
	b := nd.relayBatchFor(cv)
	if b == nil || b.taken[cv.Voter] >= relayVotesPerVoter {
		return
	}
	b.taken[cv.Voter]++
	b.pending = append(b.pending, relayedVote{group: relayGroup{cv.Height, cv.Type}, voter: cv.Voter, raw: in.raw, macs: in.auth})
	nd.relayPending()
	if cv.Height+1 < nd.eng.Round() {
		// A vote two or more heights late no longer helps anyone decide, but it tells the others
		// that its voter is alive though slow, and they judge silence at the second height after
		// (blame.go): it goes out now rather than at the end of its tick. (The usual late vote, of
		// the height just decided, waits: there are several per height.)
		nd.flushRelay(true)
	}
}

// relayPending starts the one-tick clock of the oldest pending vote.
func (nd *Node) relayPending() {
	if rs := &nd.loop.relay; rs.due.IsZero() {
		rs.due = time.Now().Add(nd.tick)
	}
}

// relayTimer is the channel Run waits on for the oldest pending vote's tick to end (nil: none pending).
func (nd *Node) relayTimer() <-chan time.Time {
	rs := &nd.loop.relay
	if rs.due.IsZero() {
		return nil
	}
	if rs.timer == nil {
		rs.timer = time.NewTimer(time.Until(rs.due))
	} else if !rs.armed.Equal(rs.due) {
		rs.timer.Reset(time.Until(rs.due))
	}
	rs.armed = rs.due
	return rs.timer.C
}

// flushRelay forwards every pending vote when a step just reached its quorum, when the oldest has
// waited a tick, or when force, and forgets steps of heights long decided. Votes arriving after their
// step's quorum went out wait for the next quorum or the end of their tick: they rarely matter to
// progress (an honest attempt needs only the quorum), and flushing each at once cost the leader n−1
// messages per late vote. (Flushing at every tick of the ticker instead sent most steps in two or
// three pieces.)
func (nd *Node) flushRelay(force bool) {
	rs := &nd.loop.relay
	if len(rs.groups) == 0 && len(rs.adopted) == 0 && len(rs.rounds) == 0 {
		rs.due = time.Time{}
		return
	}
	if !rs.due.IsZero() && !time.Now().Before(rs.due) {
		force = true
	}
	cur, q := nd.eng.Round(), wire.Quorum(nd.n)
	for g, b := range rs.groups {
		old := g.height+staleGrace < cur
		if len(b.pending) > 0 && (old || (!b.flushed && b.count >= q)) {
			force = true // a step about to be forgotten still sends what it holds
		}
	}
	if !force {
		return
	}
	// A quorum goes out, and with it every late vote still waiting: one message per receiver.
	out, rounds := rs.adopted, rs.rounds
	rs.adopted, rs.rounds = nil, nil
	clear(rs.adoptedSeen)
	for g, b := range rs.groups {
		for _, rv := range b.pending {
			rv.late = b.flushed // its step's quorum already went out (handover.go)
			out = append(out, rv)
		}
		b.flushed = b.flushed || b.count >= q
		b.pending = nil
		if g.height+staleGrace < cur {
			delete(rs.groups, g)
		}
	}
	rs.due = time.Time{}
	if len(out) == 0 && len(rounds) == 0 {
		return
	}
	// Older heights and prevotes first, each step's votes in arrival order.
	slices.SortStableFunc(out, func(a, b relayedVote) int {
		return cmp.Or(cmp.Compare(a.group.height, b.group.height), cmp.Compare(a.group.typ, b.group.typ))
	})
	if nd.atk.mute || nd.atk.dropRelay { // attack_relay.go: a leader that forwards nothing
		return
	}
	out = nd.handOver(out) // handover.go: late votes go to the current leader
	nd.sendBundles(out, rounds)
}

// sendBundles sends every member the votes of out it did not cast, each with that member's MAC, and
// then the round messages it did not write (speculate.go): two frames to one member in a row leave
// in one write.
func (nd *Node) sendBundles(out []relayedVote, rounds []relayedRound) {
	limit := wire.MaxBundleVotes(nd.lim)
	votes := make([]wire.RelayedVote, 0, min(len(out), limit))
	send := func(j int) {
		if len(votes) == 0 {
			return
		}
		nd.tamperBundle(votes) // attack_relay.go
		frame, err := (&wire.VoteBundle{Votes: votes}).Marshal()
		votes = votes[:0]
		if err != nil {
			nd.log.Debug("encoding a vote bundle", "err", err)
			return
		}
		nd.sendTo(j, frame)
		nd.loop.relay.bundlesOut++
	}
	for j := range nd.n {
		if j == nd.self {
			continue
		}
		// The next round's messages first: a member that decides on this bundle holds them then.
		nd.sendRoundBundle(j, rounds)
		for _, rv := range out {
			if rv.voter == j {
				continue
			}
			var mac wire.MAC // zero for our own vote: it comes over our channel
			if rv.macs != nil {
				mac = rv.macs[j]
			}
			votes = append(votes, wire.RelayedVote{Envelope: rv.raw, MAC: mac})
			nd.loop.relay.votesOut++
			if len(votes) == limit {
				send(j)
			}
		}
		send(j)
	}
}

// repeatTooSoon reports whether m is a rebroadcast of the height this peer entered less than
// rebroadcastTicks ago. Consensus repeats our latest messages of the height every rebroadcastTicks
// ticks of its own clock, whether the height is old or just started; at tens of heights per second
// almost every repeat was of a height a few ticks old, all-to-all (repeats never go through the relay),
// about a sixth of all messages on a 20-peer testnet. Skipping those repeats is what a rebroadcast
// clock restarted at every height would do: the originals left less than a period ago, and a height
// that lasts longer than a period (the one where messages may have been lost) gets its repeats as
// before. It changes no vote, only when a copy of one is sent again.
func (nd *Node) repeatTooSoon(m consensus.Message) bool {
	return m.Rebroadcast && m.Height() == nd.eng.Round() && nd.loop.ticks-nd.loop.lastCommit < rebroadcastTicks
}

// relayTick runs every tick: our votes the leader moved nothing with go to everyone.
func (nd *Node) relayTick() {
	nd.flushRelay(false)
	rs := &nd.loop.relay
	if len(rs.waiting) == 0 {
		return
	}
	cs := nd.cm.Status()
	wait := uint64(max(1, nd.gen.Timeouts.PrevoteBase/relayFallbackDiv))
	for k, w := range rs.waiting {
		switch {
		case cs.Height != w.height || cs.Round != w.round || cs.Step != w.step:
			delete(rs.waiting, k) // it moved
		case nd.loop.ticks-w.since >= wait:
			delete(rs.waiting, k)
			rs.fallbacks++
			nd.broadcast(w.raw)
		}
	}
}

// pruneRelay forgets per-height relay data below height k (onNewHeight).
func (nd *Node) pruneRelay(k uint64) {
	rs := &nd.loop.relay
	for h := range rs.heardLeader {
		if h < k {
			delete(rs.heardLeader, h)
		}
	}
	for key := range rs.waiting {
		if key.vote.Height < k {
			delete(rs.waiting, key)
		}
	}
}
