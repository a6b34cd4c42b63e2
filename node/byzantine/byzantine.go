package byzantine

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/byzpp/byzpp/algo/attack"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/adversary"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Protocol-level attacks understood besides algo/attack's learning-level ones. They exist so that a
// testnet can run the real peer binary as a Byzantine member (`peer run --attack equivocate,spam`);
// honest peers must keep agreeing and deciding, and penalise or name the culprit. Every name is
// listed, with its help text, in package adversary's Registry (the one list the CLIs, the harness and
// the README use); registry_test.go checks the two agree.
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

// attackMode is a parsed attack list: any set of protocol-level behaviours plus at most one
// learning-level and one state-serving attack.
type attackMode struct {
	mute, wrongDigest, badAgg, equivocate, doubleVote bool
	censor, withhold, invalid, unsampled, spam        bool
	dropRelay, tamperRelay, badSigVotes, voteFlood    bool
	learning                                          attack.Attack // nil when the member's round messages are honest
	// falseState is the false-state attack answering state requests (attack_falsestate.go), or "".
	falseState string
}

// byzantine is the Adversary: the parsed attack mode, its own bookkeeping, and the Env it acts
// through.
type byzantine struct {
	atk   attackMode
	env   Env
	byz   byzState // owned by the event loop
	craft crafting // owned by the event loop (attack_learning.go)

	mu sync.Mutex
	// prevState is a false-state attacker's previous decided state (attack_falsestate.go).
	prevState *wire.StateResponse
}

// newAdversary returns the Adversary of mode acting through env, or nil for an honest mode.
func newAdversary(mode attackMode, env Env) Adversary {
	if mode.learning == nil {
		if mode == (attackMode{}) {
			return nil
		}
	}
	return &byzantine{atk: mode, env: env}
}

func (b *byzantine) Silent() bool     { return b.atk.mute }
func (b *byzantine) DropsRelay() bool { return b.atk.mute || b.atk.dropRelay }

// Forges reports whether this peer publishes messages its own validators would refuse (they must let
// its own publishes through, or gossipsub would refuse to send them).
func (b *byzantine) Forges() bool {
	a := b.atk
	return a.invalid || a.spam || a.equivocate || a.doubleVote || a.unsampled
}

// OnSend withholds everything of a mute peer, and withholds or equivocates votes and proposals
// (attack_send.go).
func (b *byzantine) OnSend(ctx context.Context, m consensus.Message) bool {
	return b.atk.mute || b.byzSend(ctx, m)
}

// SignedVote corrupts the signature of every vote of a badsig-votes peer (attack_send.go).
func (b *byzantine) SignedVote(raw []byte) []byte {
	if b.atk.badSigVotes {
		return b.corruptSignature(raw)
	}
	return raw
}

// CollectWindow makes a censor wait one and a half windows, so that the honest messages it leaves out
// look merely late to a careless validator (honest validators refuse exactly this).
func (b *byzantine) CollectWindow(window uint64) (uint64, bool) {
	if b.atk.censor {
		return window + window/2, true
	}
	return 0, false
}

// protocolAttacks maps each protocol-level name this package implements to the flag it sets (the
// state-serving ones are falseStateAttacks).
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

// Check reports whether spec is an attack list this peer can run.
func Check(spec string) error {
	_, err := parseAttack(spec)
	return err
}

// New returns the Adversary of the attack list spec acting through env, or nil for an honest list.
func New(spec string, env Env) (Adversary, error) {
	mode, err := parseAttack(spec)
	if err != nil {
		return nil, err
	}
	return newAdversary(mode, env), nil
}

// parseAttack parses an attack list with the registry's parser (adversary.ParsePeer: comma-separated
// names, at most one learning-level attack, whose key=value parameters may continue after a comma)
// and sets the behaviours this package implements.
func parseAttack(spec string) (attackMode, error) {
	p, err := adversary.ParsePeer(spec)
	if err != nil {
		return attackMode{}, err
	}
	var mode attackMode
	for _, name := range p.Protocol {
		set := protocolAttacks[name]
		if set == nil {
			return attackMode{}, fmt.Errorf("attack %q is not implemented by this peer", name)
		}
		set(&mode)
	}
	if p.StateServing != "" {
		if !slices.Contains(falseStateAttacks, p.StateServing) {
			return attackMode{}, fmt.Errorf("attack %q is not implemented by this peer", p.StateServing)
		}
		mode.falseState = p.StateServing
	}
	if p.Learning != "" {
		a, err := attack.Parse(p.Learning)
		if err != nil {
			return attackMode{}, fmt.Errorf("attack %q: %w", p.Learning, err)
		}
		if a.Name() != "none" {
			mode.learning = a
		}
	}
	return mode, nil
}
