package byzantine

import (
	"bytes"
	"slices"

	"github.com/byzpp/byzpp/p2p/wire"
)

// False-state attacks: the peer takes part in consensus honestly but answers every StateRequest with a
// state a laggard must refuse. Each name is one way to lie; the honest side's answer is verifyState
// (sync.go), after which the laggard asks the next member.
const (
	// AttackFalseStateDigest serves its latest certified proposal and certificate with a different
	// state (one coordinate moved): the state's digest is not the certified proposal's.
	AttackFalseStateDigest = "falsestate-digest"
	// AttackFalseStateQuorum serves a certificate holding one correctly signed precommit too few.
	AttackFalseStateQuorum = "falsestate-quorum"
	// AttackFalseStateBadSig serves a quorum certificate whose first signature has one bit flipped.
	AttackFalseStateBadSig = "falsestate-badsig"
	// AttackFalseStateOtherHeight serves a certificate whose signatures are the precommits of the
	// previous height.
	AttackFalseStateOtherHeight = "falsestate-otherheight"
	// AttackFalseStateOlder serves the previous height's state, proposal and certificate relabelled
	// as the latest height.
	AttackFalseStateOlder = "falsestate-older"
)

var falseStateAttacks = []string{AttackFalseStateDigest, AttackFalseStateQuorum, AttackFalseStateBadSig,
	AttackFalseStateOtherHeight, AttackFalseStateOlder}

// ReplacingDecided remembers, for a false-state attacker, the decided state being replaced (the lies
// that need an older height use it). The node's statesync.Server calls it with its lock held.
func (b *byzantine) ReplacingDecided(cand *wire.StateResponse, certified []byte) {
	if b.atk.falseState == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case cand != nil:
		b.prevState = cand
	case certified != nil:
		var prev wire.StateResponse
		if wire.Unmarshal(certified, &prev, b.env.Limits()) == nil {
			b.prevState = &prev
		}
	}
}

// ServeState turns the encoded certified state this peer would serve into the configured lie (the
// honest state when no false-state attack is configured).
func (b *byzantine) ServeState(honest []byte) ([]byte, error) {
	if b.atk.falseState == "" {
		return honest, nil
	}
	return b.falsifyState(honest)
}

// falsifyState turns the encoded certified state this peer would serve into the configured lie.
func (b *byzantine) falsifyState(honest []byte) ([]byte, error) {
	var resp wire.StateResponse
	if err := wire.Unmarshal(honest, &resp, b.env.Limits()); err != nil {
		return nil, err
	}
	b.mu.Lock()
	prev := b.prevState
	b.mu.Unlock()
	mode := b.atk.falseState
	if prev == nil && (mode == AttackFalseStateOtherHeight || mode == AttackFalseStateOlder) {
		mode = AttackFalseStateDigest // nothing older to lie with yet
	}
	cert := &resp.Cert
	switch mode {
	case AttackFalseStateDigest:
		resp.X = slices.Clone(resp.X)
		resp.X[0] += 1
	case AttackFalseStateQuorum:
		q := wire.Quorum(b.env.N())
		cert.Signers, cert.Sigs = cert.Signers[:q-1], cert.Sigs[:q-1]
	case AttackFalseStateBadSig:
		cert.Sigs = slices.Clone(cert.Sigs)
		cert.Sigs[0] = bytes.Clone(cert.Sigs[0])
		cert.Sigs[0][0] ^= 1
	case AttackFalseStateOtherHeight:
		cert.Signers, cert.Sigs = prev.Cert.Signers, prev.Cert.Sigs
	case AttackFalseStateOlder:
		// Every height relabelled (a response whose parts disagree on the height does not even
		// decode, nor does a certificate for another value than the proposal's); the precommits signed
		// the old height and value, so the certificate no longer verifies.
		older := *prev
		older.Height, older.Round = resp.Height, resp.Round
		older.Proposal.Height, older.Cert.Height = resp.Height, resp.Height
		older.Cert.Value = older.Proposal.ValueID()
		resp = older
	}
	return wire.Marshal(&resp)
}
