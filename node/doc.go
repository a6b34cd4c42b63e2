// Package node runs one byzpp peer: it wires the training engine (node/engine), the BFT state machine
// (consensus) and the network (p2p, p2p/wire) together.
//
// One goroutine, the event loop in Run, owns the engine and the consensus machine. Gossip readers and
// stream handlers never touch them: they decode and check what arrives (signature, run id, member,
// round window, dimensions, finiteness) and hand the result to the loop over channels. That keeps every
// decision about the model in one sequential place, which is what makes honest peers derive
// bit-identical states.
//
// May import: algo/, consensus, p2p, p2p/wire and node's subpackages — it is the wiring — but not
// testnet/ or cmd/. Its subpackages have one job each and no *Node: engine (training), genesis,
// roster (member list), votestore, modelfile, storage (the StateDir: journal, durability, sign bound),
// accountability (who is named for what: the blame book, double votes, the censorship rule, offences),
// liveness (which members this peer stops waiting for: presumed dead, distrusted leaders), amnesia
// (the heights a peer that may have forgotten its votes sits out), statesync (certified states
// between peers: serving the held round messages and the decided state, certified on first use;
// fetching a peer's state and checking it against the member history).
// The network is a p2p.Network (Config.Host): *p2p.Host over libp2p in a real peer, p2p/memnet's
// in-memory hosts in node's tests (which therefore run under the race detector; the few that test
// libp2p itself use mocknet and skip under -race). Node imports no libp2p package (p2p's aliases:
// p2p.PeerID, p2p.PubKey). Layering checked by internal/arch.
//
// Per training round k (consensus height k): sampled members send their signed round message; the
// leader of (k, attempt) waits for the sample (or CollectTicks) and proposes the included message
// digests and the resulting state digest; every peer fetches missing messages, re-derives the state
// with algo/ and votes; a decision (>2/3 precommits) is committed, persisted with its candidate
// certificate, and the next height starts. A peer that falls behind adopts a certified state from a peer,
// after checking it (sync.go, node/statesync: a state that is not the certified one, or a short, forged or
// other-height certificate, is refused and the next member asked). A damaged StateDir is never loaded:
// the peer uses the journal's intact records before the damage or starts from genesis, refetches, and
// sits out the heights at which it may have forgotten its own votes (persist.go, node/amnesia, storage).
//
// What makes a round cheap (measured on a 20-peer loopback testnet, see BenchmarkRound and the files
// named): an honest member sends everything directly to the members over one long-lived stream each,
// not over gossip (direct.go); a vote that arrives from its own signer over the authenticated channel
// counts at once and its signature is checked only if it is relayed or certified, and no envelope's
// signature is checked twice (sigcache.go); round messages and proposals from their authors are not
// checked on arrival either (lazyround.go: a round message is checked before it is served, proposed
// or called censored); certificates are certified when first served or restored, not at every decision
// (lazycert.go, node/statesync's Server); persistence appends to a journal before anything is sent and syncs it in the
// background where the machine's boot can be told, a restart in a later boot without a clean stop
// sitting out the heights it may have voted at (node/storage); queued inputs are handled
// before consensus output is drained; the direct frames of one turn of the loop leave together, one
// write per member (outbox.go).
//
// Round messages travel ahead (speculate.go): a member that prevotes for a value of height k at
// attempt 0 and is sampled for k+1 computes its k+1 message at the state that value leads to and
// sends it to the leader of (k+1, 0). That leader relays the precommits of k (relay.go): it forwards
// the messages with the precommit quorum, decides, and proposes k+1 in the same turn. The engine keeps
// a member's next-round messages at up to two states and, when the round starts, only the one at the
// decided state; a member whose guess was overtaken sends another, and one whose message the round's
// attempt-0 proposal does not include in time sends it to everyone. Votes that reach a relay leader
// after their step's quorum go in one handover to the member relaying the current height's
// precommits instead of a bundle to every member (handover.go).
//
// Votes travel linearly (relay.go). In attempt 0 of a height a member sends its signed vote only to
// the step's relay leader (the proposer of (k, 0) for a prevote of height k, of (k+1, 0) for a
// precommit), with an authenticator: one 16-byte MAC per member, made with the pairwise keys
// that every two members derive without a handshake from their identity keys (static X25519 of the
// Ed25519 keys, then HKDF; pairkey.go). The leader forwards every vote to every member in one bundle
// per receiver as soon as it holds a quorum of the step (late votes within a tick), each vote with
// only that receiver's MAC: 2(n−1) messages per vote step instead of n(n−1), and no receiver checks a
// signature for it — a MAC costs about 0.3 µs, an Ed25519 verification about 50. A relayed vote whose
// MAC holds is treated exactly as one from its signer: only the voter and the receiver know their key,
// so a Byzantine leader can drop or delay votes but not forge or alter one, and what a receiver counts
// is what the voters sent — the argument of lazy verification unchanged; signatures are still checked
// before a vote enters a certificate or a consensus relay. A vote whose MAC fails is dropped and counted
// (Status.RelayMACFailures). Whenever the relay cannot be trusted the votes go all-to-all as before:
// attempts after the first, consensus' rebroadcasts and relays, votes cast before the leader's proposal
// arrived, and a vote the leader moved nothing with for a quarter of the prevote timeout — so a leader
// that is silent, drops or tampers with votes costs at most a timeout. Blame sees a relayed vote as
// its voter's presence, like a direct one.
//
// Byzantine behaviour for testnets is configured with Config.Attack, a comma-separated list: at most
// one learning-level attack from algo/attack (the member crafts its round message from the honest
// messages it saw, as sim.Runner does) and any protocol-level ones (node/byzantine): "mute", "wrong-digest"
// and "badagg" (a proposal whose digest is not its inclusions' aggregate), "equivocate" (two proposals
// and two votes per slot, each written straight to one half of the peers),
// "double-vote", "censor" (leave out honest messages, propose late), "withhold" (never vote),
// "drop-relay" and "tamper-relay" (as leader, forward none of the votes sent to it, or forward them with
// wrong MACs),
// "invalid" (malformed, oversized, NaN, wrong-dimension, non-leader, unsampled, badly signed, replayed
// messages and malformed stream requests), "unsampled" and "spam" (rate-bounded duplicate, stale and
// future messages), and the "falsestate-*" lies served to state requests. The attacks live in package
// node/byzantine, act only through its Env (nodeEnv, adversary.go), and the node calls its Adversary —
// nil for an honest peer — at named points: Tick, OnSend, SignedVote, CollectWindow, LeaderChoice,
// DropsRelay, TamperRelay, OwnRound, Craft, RoundAhead (a learning-level attacker's crafted round
// messages), ReplacingDecided, ServeState, Forges, Silent.
//
// The honest side's answers: gossip verdicts (Reject feeds peer scoring, which graylists a forger),
// re-derivation of every proposal, refusal of a fresh proposal that omits a message held for longer
// than the collect window, equivocation evidence from consensus and from a record of recent votes, and
// naming: Status.Blame counts per member the offences attributed to it — only offences proven by the
// member's own signature, or, for a member otherwise heard from, its absence from every vote of a
// decided height that lasts two more decided heights; a vote that is merely late (its height just
// decided) is not an offence. Package accountability owns the last three (the Book in nd.acct: the
// censorship rule, the record of recent votes, the blame counts with the silence and staleness
// judgements, offences and cut-offs); blame.go and abuse.go hand it what the node decoded and act on
// its answers. A peer that has heard nothing for a while probes others for a certified state
// (catchup.go), so a restarted or late peer catches up even after the others have finished.
//
// Open runs (membership.go, peer.go, package roster, p2p.ConnectAll): a Node runs one epoch — a stretch of
// rounds with one member list. Join, leave and remove operations ride in proposals and are decided with
// them; a decided change takes effect two rounds later, where the Node stops (ErrEpochOver) and Peer
// starts the next epoch's Node. Peer also runs a volunteer that is not a member yet as an observer: it
// follows certified states, checks the member history from the genesis, and asks to join.
package node
