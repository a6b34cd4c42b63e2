package node

import (
	"time"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/relay"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Linear vote dissemination. Sending every vote to every member costs n·(n−1) messages per vote step,
// and per message the system calls and goroutine hand-offs dominate a peer's CPU. So in attempt 0 of a
// height a member sends its signed vote only to the step's relay leader (relayLeader: the proposer of
// (k, 0) for prevotes, the proposer of (k+1, 0) for precommits — see below), with an authenticator: for every other member j, MAC_j = HMAC-SHA256(K_ij, voter ‖ j ‖ SHA-256(envelope))
// truncated to 16 bytes, K_ij the pairwise key (relay/pairkey.go). The leader counts the vote as one arriving
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
//     PrevoteBase/4 ticks (relay.FallbackWait) is sent to everyone.
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
//
// The mechanics live in package relay: the pairwise keys and MACs, the signature cache, the leader's
// per-step bookkeeping (relay.State: quorum counting, pending votes, the one-tick clock, fallbacks,
// handed-over votes), which votes go to whom, and the receive-side checks of relay frames. This file
// decides whether a vote is relayed (who leads, the configuration, the attacks) and sends what it
// returns.

// relayMinMembers is the smallest membership that relays votes (relay.MinMembers).
const relayMinMembers = relay.MinMembers

// envelopeDigest is the SHA-256 of a signed envelope (relay.EnvelopeDigest): the signature cache's
// key, and what MACs bind.
func envelopeDigest(raw []byte) [32]byte { return relay.EnvelopeDigest(raw) }

// derivePairKeys derives this member's pairwise keys (package relay) from its identity key and the
// members' public keys and IDs (relay takes them as raw Ed25519 bytes and strings).
func derivePairKeys(priv p2p.PrivKey, pubs []p2p.PubKey, peers []p2p.PeerID, self int, run wire.RunID) (*relay.PairKeys, []error) {
	raws := make([][]byte, len(pubs))
	for j, pub := range pubs {
		raws[j] = p2p.RawEd25519(pub)
	}
	ids := make([]string, len(peers))
	for j, id := range peers {
		ids[j] = string(id)
	}
	return relay.DerivePairKeys(p2p.RawEd25519(priv), raws, ids, self, run)
}

// usePairKeys derives the pairwise MAC keys with the members of this epoch (New); without any, this
// member sends and accepts votes only directly.
func (nd *Node) usePairKeys() {
	pairs, errs := derivePairKeys(nd.cfg.Key, nd.keys, nd.peers, nd.self, nd.run)
	for _, err := range errs {
		nd.log.Warn("pairwise key: votes between this member and that one are not relayed", "err", err)
	}
	if pairs.Any() {
		nd.pairs = pairs
	}
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
	if nd.cfg.DirectVotes || !nd.relaying(v) {
		return false
	}
	nd.loop.relay.QueueOwn(relay.Vote{Group: relay.Group{Height: v.Height, Type: v.Type}, Voter: nd.self, Raw: raw}, nd.n)
	nd.awaitProgress(v, raw)
	return true
}

func (nd *Node) sendViaLeader(v consensus.Vote, raw []byte) bool {
	if nd.pairs == nil || nd.cfg.DirectVotes || nd.n < nd.relayMin || v.Round != 0 {
		return false
	}
	leader := nd.relayLeader(v)
	if leader == nd.self || !nd.loop.relay.HeardLeader(v.Height) || !nd.pairs.OK(leader) || nd.presumedDead(leader) || nd.loop.live.RelayDistrusted(leader, v.Height) {
		return false
	}
	frame, err := (&wire.AuthVote{Envelope: raw, MACs: nd.pairs.Authenticator(envelopeDigest(raw))}).Marshal()
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
	nd.loop.relay.Await(v, raw, nd.loop.ticks, nd.position())
}

// position is where consensus stands, for the relay's fallback.
func (nd *Node) position() relay.Position {
	cs := nd.cm.Status()
	return relay.Position{Height: cs.Height, Round: cs.Round, Step: cs.Step}
}

// noteLeaderProposal records that the leader's attempt-0 proposal of height arrived (onProposal).
func (nd *Node) noteLeaderProposal(height uint64, attempt uint32) {
	nd.loop.relay.NoteLeaderProposal(height, attempt, nd.eng.Round())
}

// relayCount counts a vote of a step we relay (attempt 0 of a height we lead), whatever path it came by.
func (nd *Node) relayCount(k voteKey) {
	if nd.relaying(k.vote) {
		nd.loop.relay.Count(relay.Group{Height: k.vote.Height, Type: k.vote.Type}, k.voter, nd.n)
	}
}

// relaying reports whether we relay v's step: attempt 0 of a step we lead, with pairwise keys and
// enough members.
func (nd *Node) relaying(v consensus.Vote) bool {
	return nd.pairs != nil && nd.n >= nd.relayMin && v.Round == 0 && v.Voter >= 0 && v.Voter < nd.n && nd.relayLeader(v) == nd.self
}

// relayIntake queues a vote that reached us, the leader, with its authenticator.
func (nd *Node) relayIntake(in *voteIn) {
	cv := in.vote()
	if cv.Height+staleGrace < nd.eng.Round() || !nd.relaying(cv) {
		return
	}
	if !nd.loop.relay.Take(relay.Vote{Group: relay.Group{Height: cv.Height, Type: cv.Type}, Voter: cv.Voter, Raw: in.raw, MACs: in.auth}, nd.n) {
		return
	}
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
func (nd *Node) relayPending() { nd.loop.relay.Pending(time.Now(), nd.tick) }

// relayTimer is the channel Run waits on for the oldest pending vote's tick to end (nil: none pending).
func (nd *Node) relayTimer() <-chan time.Time { return nd.loop.relay.Timer() }

// flushRelay forwards every pending vote when a step just reached its quorum, when the oldest has
// waited a tick, or when force (relay.State.Flush), and forgets steps of heights long decided.
func (nd *Node) flushRelay(force bool) {
	out, rounds := nd.loop.relay.Flush(time.Now(), nd.eng.Round(), nd.n, force)
	if len(out) == 0 && len(rounds) == 0 {
		return
	}
	if nd.adv != nil && nd.adv.DropsRelay() { // adversary.go: a leader that forwards nothing
		return
	}
	out = nd.handOver(out) // handover.go: late votes go to the current leader
	nd.sendBundles(out, rounds)
}

// sendBundles sends every member the votes of out it did not cast, each with that member's MAC, and
// before them the round messages it did not write (speculate.go): two frames to one member in a row
// leave in one write.
func (nd *Node) sendBundles(out []relay.Vote, rounds []relay.Round) {
	limit := wire.MaxBundleVotes(nd.lim)
	var votes []wire.RelayedVote
	for j := range nd.n {
		if j == nd.self {
			continue
		}
		// The next round's messages first: a member that decides on this bundle holds them then.
		nd.sendRoundBundle(j, rounds)
		votes = relay.AppendFor(votes[:0], out, j)
		nd.loop.relay.Stats.VotesOut += uint64(len(votes))
		for rest := votes; len(rest) > 0; {
			frame := rest[:min(limit, len(rest))]
			rest = rest[len(frame):]
			if nd.adv != nil {
				nd.adv.TamperRelay(frame) // adversary.go: a leader that alters MACs
			}
			raw, err := (&wire.VoteBundle{Votes: frame}).Marshal()
			if err != nil {
				nd.log.Debug("encoding a vote bundle", "err", err)
				continue
			}
			nd.sendTo(j, raw)
			nd.loop.relay.Stats.BundlesOut++
		}
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
	if !rs.Waiting() {
		return
	}
	for _, raw := range rs.Fallbacks(nd.position(), nd.loop.ticks, relay.FallbackWait(nd.gen.Timeouts.PrevoteBase)) {
		nd.broadcast(raw)
		// The leader that should have relayed it moved nothing: our votes do not go through it for a
		// while (presumed.go; a leader that drops or tampers with relays cost a fallback every time).
		if v, ok := nd.ownVote(raw); ok {
			nd.loop.live.DistrustRelay(nd.relayLeader(v), v.Height)
		}
	}
}

// ownVote decodes one of our signed vote envelopes.
func (nd *Node) ownVote(raw []byte) (consensus.Vote, bool) {
	var env wire.Envelope
	if err := wire.Unmarshal(raw, &env, nd.lim); err != nil {
		return consensus.Vote{}, false
	}
	m, err := env.Open(nd.lim)
	if err != nil {
		return consensus.Vote{}, false
	}
	v, ok := m.(*wire.Vote)
	if !ok {
		return consensus.Vote{}, false
	}
	return consensus.Vote{Type: consensus.VoteType(v.Type), Height: v.Height, Round: v.Round,
		Value: consensus.ValueID(v.Value), Voter: int(env.Signer)}, true
}

// pruneRelay forgets per-height relay data below height k (onNewHeight).
func (nd *Node) pruneRelay(k uint64) { nd.loop.relay.Prune(k) }
