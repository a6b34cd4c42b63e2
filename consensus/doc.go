// Package consensus lets the members of a byzpp run agree, height by height, on the outcome of each
// training round, while up to f = ⌊(N−1)/3⌋ of them lie.
//
// May import: the standard library only, and none of its I/O (no os, net, syscall, path/filepath): the
// caller moves the messages and persists the state (node, node/storage). Layering checked by
// internal/arch.
//
// It implements Algorithm 1 of Buchman, Kwon and Milošević, "The latest gossip on BFT consensus"
// (2018, arXiv:1807.04938) — the Tendermint consensus algorithm — as a pure, deterministic state
// machine in the style of etcd's raft: no goroutines, sockets, clocks or randomness. Comments cite the
// paper's line numbers. Height h is training round k; within a height the paper's "rounds" are called
// attempts in prose (Round in code): each has a leader given by Config.Proposer.
//
// The value agreed on is an opaque 32-byte ValueID (zero = nil). The application (node/) knows what it
// stands for and tells the machine whether a proposed value is valid (valid(v) in the paper) after
// re-deriving it; it builds values for our own proposals on request (getValue()).
//
// # Driving the machine
//
// Inputs: StepProposal and StepVote (signature-checked messages from the network), Tick (the only
// notion of time: timeouts are counted in ticks), Propose (the answer to a NeedValue request) and
// StartHeight. Outputs accumulate in a Ready, drained with Ready/Advance:
//
//	for m.HasReady() {
//		rd := m.Ready()
//		save(rd.Persist)            // durably, BEFORE sending anything
//		send(rd.Messages, rd.Relay)  // sign ours, re-gossip others' stored envelopes
//		apply(rd.Decisions)          // then StartHeight(h+1)
//		report(rd.Evidence); build(rd.NeedValue)
//		m.Advance(rd)
//		for _, p := range rd.Validate { m.StepProposal(p, valid(p.Value)) } // buffered proposals
//	}
//
// # Deviations from the listing, and why
//
//   - Lines 52–54: on deciding, the machine reports the decision and stays at the height until the
//     application calls StartHeight(h+1), because the next round's values depend on applying this one.
//     A lagging member may also jump several heights at once after adopting certificates.
//   - Line 21: the leader schedules timeoutPropose too, since getValue() is asynchronous here (the
//     application may collect member messages for a few ticks). The timeout does nothing once the
//     leader has proposed, exactly as line 58's guard makes it do in the paper.
//   - The paper's gossip assumption (every message a correct member received eventually reaches all
//     correct members) is not met by gossipsub, which forwards each message once and never to late
//     peers. Every RebroadcastEvery ticks the machine therefore repeats its latest proposal and votes
//     plus a rotating few older ones of the height, and lists in Ready.Relay the others' votes that
//     took it to its position (proof of lock, previous attempt's precommits, current attempt's votes).
//     The property test found stalls without each of these.
//   - Message log hygiene the paper leaves implicit: a member counts at most once in any tally. A
//     second, different vote for the same (type, attempt) — or a second proposal — is equivocation,
//     reported once per member and height in Ready.Evidence. The conflicting vote still counts towards
//     its own value (bounded; see voteSet), as it would in the paper's message log: ignoring an
//     equivocator from then on lets it split the correct members' views of a proof of lock, which
//     stalls the height. Messages for future heights are buffered (bounded per sender) and replayed on
//     StartHeight; past heights are ignored. Each member may hold messages in at most two attempts
//     beyond round_p+1 (its lowest is forgotten when it moves higher), so no member can make us
//     allocate unbounded state.
//
// # Persistence
//
// Every change of the persistent fields (height, attempt, step, lock, valid value, signed messages,
// decision) makes the next Ready carry a PersistentState; the caller saves it before sending that
// Ready's messages. New with a restored state resumes the same height and attempt, refuses to sign a
// second vote of any (attempt, type) it already signed, and re-emits what it had signed.
package consensus
