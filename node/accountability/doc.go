// Package accountability owns who is named for what: the blame book of one peer (Book) — the kinds of
// offence (BadProposal, Censor, Equivocate, Silent, Stale, Future, Invalid, InvalidFrame, Flood), the
// counts per member and kind that Status.Blame shows, offences counted once per slot (BlameOnce), the
// members known faulty, the silence judgement with its grace in heights and ticks (silence.go), the
// stale and future judgements, the record of recent votes that catches double votes (doublevote.go),
// and the offence counter whose thresholds decide when a member is cut off (abuse.go) — and the
// censorship rule (censor.go), a pure function of what the caller holds: given the held messages with
// their arrival ticks, the collect window and its grace, and an excuse per message (the node checks the
// message's signature and whether its author is known faulty), whether a fresh proposal omits a
// message it must include — with the proof it needs before naming the leader (Handovers: the messages
// handed to leaders that omitted them, and the heights each leader omitted messages at).
//
// It judges; it does not act. The node decodes and checks messages, tells the Book what it saw, and
// acts on the answers: it refuses a censoring proposal, logs, and asks its host to cut a member off
// when Offence says so. The Book has its own mutex: the event loop writes to it, and so do gossip
// validators and stream handlers on other goroutines; it never calls out while holding it.
//
// Imports: the standard library and consensus (vote types) only — no p2p, no wire format, no node or
// other part of node.
package accountability
