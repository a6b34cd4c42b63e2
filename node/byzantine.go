package node

import (
	"fmt"
	"strings"

	"github.com/byzpp/byzpp/algo/attack"
)

// Protocol-level attacks understood by Config.Attack besides algo/attack's learning-level ones. They
// exist so that a testnet can run the real peer binary as a Byzantine member (`peer run --attack
// equivocate,spam`); honest peers must keep agreeing and deciding, and penalise or name the culprit.
const (
	// AttackMute sends nothing at all: no round message, proposal or vote.
	AttackMute = "mute"
	// AttackWrongDigest behaves honestly except that, as leader, it proposes a wrong state digest.
	AttackWrongDigest = "wrong-digest"
	// AttackBadAgg, as leader, proposes a consistent inclusion list with the state digest of a
	// different aggregate (one included vector is negated before aggregating).
	AttackBadAgg = "badagg"
	// AttackEquivocate, as leader, sends two different valid proposals for one (height, attempt) to
	// the two halves of the peers, and signs two different votes for every vote slot.
	AttackEquivocate = "equivocate"
	// AttackDoubleVote signs two different votes for every vote slot (and proposes honestly).
	AttackDoubleVote = "double-vote"
	// AttackCensor, as leader, includes only its own and Byzantine members' messages, proposing at
	// the very end of a stretched collection window so that the omission looks like slowness.
	AttackCensor = "censor"
	// AttackWithhold never votes (it still sends round messages and proposals).
	AttackWithhold = "withhold"
	// AttackInvalid keeps sending malformed, oversized, non-finite, wrong-round, wrong-dimension,
	// replayed, non-leader and unsampled-sender messages on both topics and both stream protocols.
	AttackInvalid = "invalid"
	// AttackUnsampled sends a correctly signed round message in every round, sampled or not.
	AttackUnsampled = "unsampled"
	// AttackSpam floods (at a bounded rate) valid-looking duplicate, stale and future messages.
	AttackSpam = "spam"
	// AttackDropRelay, as leader, forwards none of the votes sent to it for relaying (relay.go).
	AttackDropRelay = "drop-relay"
	// AttackTamperRelay, as leader, forwards the votes sent to it with wrong MACs: flipped bits, or
	// another voter's MAC (attack_relay.go).
	AttackTamperRelay = "tamper-relay"
	// AttackBadSigVotes sends every vote with a corrupted signature over its own channels, where
	// votes count before their signature is checked (direct.go, lazycert.go).
	AttackBadSigVotes = "badsig-votes"
	// AttackVoteFlood sends, every tick, voteFloodPerTick validly signed votes for attempts nobody
	// uses at the current and the next heights, straight to every member (attack_flood.go).
	AttackVoteFlood = "vote-flood"
)

// attackMode is the parsed Config.Attack: any set of protocol-level behaviours plus at most one
// learning-level attack.
type attackMode struct {
	mute, wrongDigest, badAgg, equivocate, doubleVote bool
	censor, withhold, invalid, unsampled, spam        bool
	dropRelay, tamperRelay, badSigVotes, voteFlood    bool
	learning                                          attack.Attack // nil when the member's round messages are honest
	// falseState is the false-state attack answering state requests (attack_falsestate.go), or "".
	falseState string
}

// forges reports whether this peer publishes messages its own validators would refuse (they must let
// its own publishes through, or gossipsub would refuse to send them).
func (a attackMode) forges() bool {
	return a.invalid || a.spam || a.equivocate || a.doubleVote || a.unsampled
}

// protocolAttacks maps each protocol-level name to the flag it sets.
var protocolAttacks = map[string]func(*attackMode){
	AttackMute:        func(a *attackMode) { a.mute = true },
	AttackWrongDigest: func(a *attackMode) { a.wrongDigest = true },
	AttackBadAgg:      func(a *attackMode) { a.badAgg = true },
	AttackEquivocate:  func(a *attackMode) { a.equivocate = true },
	AttackDoubleVote:  func(a *attackMode) { a.doubleVote = true },
	AttackCensor:      func(a *attackMode) { a.censor = true },
	AttackWithhold:    func(a *attackMode) { a.withhold = true },
	AttackInvalid:     func(a *attackMode) { a.invalid = true },
	AttackUnsampled:   func(a *attackMode) { a.unsampled = true },
	AttackSpam:        func(a *attackMode) { a.spam = true },
	AttackDropRelay:   func(a *attackMode) { a.dropRelay = true },
	AttackTamperRelay: func(a *attackMode) { a.tamperRelay = true },
	AttackBadSigVotes: func(a *attackMode) { a.badSigVotes = true },
	AttackVoteFlood:   func(a *attackMode) { a.voteFlood = true },
}

func init() {
	for _, name := range falseStateAttacks {
		protocolAttacks[name] = func(a *attackMode) { a.falseState = name }
	}
}

// parseAttack parses a comma-separated list of attack names. A learning-level attack may carry
// parameters ("alie:z=1.5,scale=2"): a token of the form key=value continues the previous attack's
// parameter list rather than naming a new attack.
func parseAttack(spec string) (attackMode, error) {
	var mode attackMode
	var learning string
	for tok := range strings.SplitSeq(spec, ",") {
		tok = strings.TrimSpace(tok)
		name := strings.ToLower(tok)
		switch {
		case name == "" || name == "none":
			continue
		case protocolAttacks[name] != nil:
			protocolAttacks[name](&mode)
			continue
		case strings.Contains(tok, "=") && !strings.Contains(tok, ":"):
			if learning == "" || !strings.Contains(learning, ":") {
				return attackMode{}, fmt.Errorf("%w: attack parameter %q follows no parameterised attack", ErrConfig, tok)
			}
			learning += "," + tok
			continue
		}
		if learning != "" {
			return attackMode{}, fmt.Errorf("%w: attacks %q and %q: at most one learning-level attack", ErrConfig, learning, tok)
		}
		learning = tok
	}
	if learning != "" {
		a, err := attack.Parse(learning)
		if err != nil {
			return attackMode{}, fmt.Errorf("%w: attack %q: %w (or one of %s)", ErrConfig, learning, err, attackNames())
		}
		if a.Name() != "none" {
			mode.learning = a
		}
	}
	return mode, nil
}

func attackNames() string {
	return strings.Join([]string{AttackMute, AttackWrongDigest, AttackBadAgg, AttackEquivocate, AttackDoubleVote,
		AttackCensor, AttackWithhold, AttackInvalid, AttackUnsampled, AttackSpam, AttackDropRelay, AttackTamperRelay, AttackBadSigVotes, AttackVoteFlood,
		AttackFalseStateDigest,
		AttackFalseStateQuorum, AttackFalseStateBadSig, AttackFalseStateOtherHeight, AttackFalseStateOlder}, ", ")
}
