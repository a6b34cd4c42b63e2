package consensus

import (
	"encoding/hex"
	"fmt"
)

// ValueID names the value agreed on at a height. The machine never looks inside it: the application
// knows what it stands for (the set of included member messages and the digest of the resulting model
// state). The zero ID is the paper's nil.
type ValueID [32]byte

// IsNil reports whether v is the nil value (all zero bytes).
func (v ValueID) IsNil() bool { return v == ValueID{} }

// String returns the first 8 hex digits, or "nil"; enough to tell values apart in logs.
func (v ValueID) String() string {
	if v.IsNil() {
		return "nil"
	}
	return hex.EncodeToString(v[:4])
}

// Step is the phase of an attempt (the paper's step_p).
type Step uint8

// Steps in the order an attempt goes through them (Algorithm 1 compares them with ≥ at line 36).
const (
	StepPropose Step = iota
	StepPrevote
	StepPrecommit
)

func (s Step) String() string {
	switch s {
	case StepPropose:
		return "propose"
	case StepPrevote:
		return "prevote"
	case StepPrecommit:
		return "precommit"
	}
	return fmt.Sprintf("Step(%d)", uint8(s))
}

// VoteType tells a prevote from a precommit. The zero value is deliberately invalid so that a vote
// decoded from a zeroed or truncated buffer is rejected instead of counted as a prevote.
type VoteType uint8

// The two kinds of vote of Algorithm 1.
const (
	Prevote VoteType = iota + 1
	Precommit
)

func (t VoteType) String() string {
	switch t {
	case Prevote:
		return "prevote"
	case Precommit:
		return "precommit"
	}
	return fmt.Sprintf("VoteType(%d)", uint8(t))
}

// Proposal is ⟨PROPOSAL, h, r, v, validRound⟩ (line 19). POLRound is the paper's validRound field: −1
// when the proposer holds no valid value, otherwise the earlier attempt in which 2f+1 members prevoted
// Value (the "proof of lock" round that line 28 checks).
type Proposal struct {
	Height   uint64
	Round    uint32
	POLRound int32
	Value    ValueID
	Proposer int
}

// Vote is ⟨PREVOTE, h, r, id(v)⟩ or ⟨PRECOMMIT, h, r, id(v)⟩; Value is nil for a nil vote.
type Vote struct {
	Type   VoteType
	Height uint64
	Round  uint32
	Value  ValueID
	Voter  int
}

// MessageKind tags which field of a Message is meaningful.
type MessageKind uint8

// The kinds of Message. Zero is invalid for the same reason as VoteType's zero.
const (
	KindProposal MessageKind = iota + 1
	KindVote
)

func (k MessageKind) String() string {
	switch k {
	case KindProposal:
		return "proposal"
	case KindVote:
		return "vote"
	}
	return fmt.Sprintf("MessageKind(%d)", uint8(k))
}

// Message is one proposal or vote of ours that the caller must sign and broadcast.
type Message struct {
	Kind     MessageKind
	Proposal Proposal // meaningful when Kind == KindProposal
	Vote     Vote     // meaningful when Kind == KindVote
	// Rebroadcast marks a repeat of a message emitted before (same content; with a deterministic
	// signature scheme such as Ed25519 the signed bytes are identical too). Gossip does not replay old
	// messages to peers that joined or reconnected late, so the machine repeats its latest ones.
	Rebroadcast bool
}

// ProposalMessage wraps p as a Message.
func ProposalMessage(p Proposal) Message { return Message{Kind: KindProposal, Proposal: p} }

// VoteMessage wraps v as a Message.
func VoteMessage(v Vote) Message { return Message{Kind: KindVote, Vote: v} }

// Height returns the height of the wrapped proposal or vote.
func (m Message) Height() uint64 {
	if m.Kind == KindProposal {
		return m.Proposal.Height
	}
	return m.Vote.Height
}

// Round returns the attempt of the wrapped proposal or vote.
func (m Message) Round() uint32 {
	if m.Kind == KindProposal {
		return m.Proposal.Round
	}
	return m.Vote.Round
}

// Sender returns the member who signed the wrapped proposal or vote.
func (m Message) Sender() int {
	if m.Kind == KindProposal {
		return m.Proposal.Proposer
	}
	return m.Vote.Voter
}

// sameContent compares two messages ignoring the Rebroadcast mark.
func (m Message) sameContent(o Message) bool {
	if m.Kind != o.Kind {
		return false
	}
	if m.Kind == KindProposal {
		return m.Proposal == o.Proposal
	}
	return m.Vote == o.Vote
}

// Decision is line 51: Value was decided at Height in attempt Round. Certificate holds every precommit
// for Value at (Height, Round) the machine had when it decided (at least ⌊2N/3⌋+1, sorted by voter);
// with the members' signatures it lets a lagging peer adopt the decision without replaying the height.
type Decision struct {
	Height      uint64
	Round       uint32
	Value       ValueID
	Certificate []Vote
}

// Equivocation is evidence that Member signed two different proposals, or two different votes of the
// same type, for the same (Height, Round). First is the one received (and acted on) first.
type Equivocation struct {
	Member int
	Height uint64
	Round  uint32
	First  Message
	Second Message
}

// NeedValue asks the application for a value to propose: we lead (Height, Round) and hold no
// validValue (line 18, getValue()). Answer with Machine.Propose.
type NeedValue struct {
	Height uint64
	Round  uint32
}

// Ready collects everything the machine produced since the last Advance. Handle it in this order:
//  1. save Persist durably (if non-nil) — before anything in Messages leaves the process, so a restarted
//     peer can never sign a vote that conflicts with one already sent, nor forget a lock;
//  2. sign and broadcast Messages; re-gossip Relay (others' signed votes, see below);
//  3. apply Decisions, report Evidence, check Validate, and answer NeedValue (now or after a few ticks);
//
// then call Advance with the same Ready.
type Ready struct {
	Persist  *PersistentState
	Messages []Message
	// Relay lists other members' votes to re-gossip, every RebroadcastEvery ticks: those that took us
	// to our position (the proof of lock of validRound, the precommits of the previous attempt, the
	// votes of the current one). Algorithm 1 assumes gossip eventually delivers every message a correct
	// member received to all correct members; gossipsub forwards a message only once, so without this
	// a member that missed a Byzantine member's vote could be stranded in an older attempt, or never
	// accept a re-proposed value. The caller re-sends the original signed envelopes it kept when the
	// votes arrived; a caller without them may skip Relay at the cost of liveness after long
	// partitions, never of safety.
	Relay []Vote
	// Validate returns proposals that arrived before their height started (their value could not be
	// checked then): check each now and pass it to StepProposal with the verdict.
	Validate  []Proposal
	NeedValue *NeedValue
	Decisions []Decision
	Evidence  []Equivocation

	persistSeq uint64 // which state Persist is, so Advance does not acknowledge a newer one
}

// Status is a read-only snapshot for /status endpoints and logs.
type Status struct {
	Started     bool
	Height      uint64
	Round       uint32
	Step        Step
	LockedRound int32
	LockedValue ValueID
	ValidRound  int32
	ValidValue  ValueID
	Decided     bool
	Tick        uint64
	Faulty      []int // members caught equivocating at this height, ascending
}
