package wire

import (
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
)

// Certificate proves that a quorum of members precommitted Value at (Height, Round). It is compact:
// every precommit has the same body, Vote{Run, Precommit, Height, Round, Value}, so only the signers and
// their signatures travel. Signers is strictly increasing; Sigs[j] is Signers[j]'s signature over that
// body exactly as Sign would make it (type TypeVote, signer Signers[j]).
type Certificate struct {
	Run     RunID
	Height  uint64
	Round   uint32
	Value   Digest
	Signers []uint32
	Sigs    [][]byte
}

// Quorum is the number of members out of n whose precommits decide: the smallest q with 3q > 2n.
func Quorum(n int) int { return 2*n/3 + 1 }

// Vote returns the precommit every signature of c signs.
func (c *Certificate) Vote() Vote {
	return Vote{Run: c.Run, Type: Precommit, Height: c.Height, Round: c.Round, Value: c.Value}
}

// Validate checks the certificate's shape: a non-nil value, 1..MaxMembers strictly increasing signers
// below MaxMembers, one SigSize-byte signature per signer. It does not check signatures (see Verify).
func (c *Certificate) Validate(lim *Limits) error {
	if c.Value.IsZero() {
		return fmt.Errorf("%w: certificate for the nil value", ErrEnum)
	}
	if len(c.Signers) == 0 || len(c.Signers) > int(lim.MaxMembers) {
		return fmt.Errorf("%w: %d signers, want 1..%d", ErrTooLarge, len(c.Signers), lim.MaxMembers)
	}
	if err := checkIncreasing(c.Signers, lim.MaxMembers, "certificate signers"); err != nil {
		return err
	}
	if len(c.Sigs) != len(c.Signers) {
		return fmt.Errorf("%w: %d signers but %d signatures", ErrMalformed, len(c.Signers), len(c.Sigs))
	}
	for j, s := range c.Sigs {
		if len(s) != SigSize {
			return fmt.Errorf("%w: signature %d is %d bytes", ErrMalformed, j, len(s))
		}
	}
	return nil
}

// Verify checks c against the members' public keys (keys[i] is member i's key): its shape, at least
// Quorum(len(keys)) signers, every signer a member, every signature valid. Errors wrap ErrQuorum,
// ErrIndex, ErrSignature or ErrKeyType.
func (c *Certificate) Verify(keys []crypto.PubKey) error {
	if len(keys) == 0 {
		return fmt.Errorf("%w: no members", ErrQuorum)
	}
	lim := DefaultLimits()
	lim.MaxMembers = uint32(min(max(len(keys), len(c.Signers)), maxUint32))
	if err := c.Validate(&lim); err != nil {
		return err
	}
	if last := c.Signers[len(c.Signers)-1]; int64(last) >= int64(len(keys)) {
		return fmt.Errorf("%w: signer %d but only %d members", ErrIndex, last, len(keys))
	}
	if q := Quorum(len(keys)); len(c.Signers) < q {
		return fmt.Errorf("%w: %d signers, need %d of %d", ErrQuorum, len(c.Signers), q, len(keys))
	}
	vote := c.Vote()
	body, err := Marshal(&vote)
	if err != nil {
		return err
	}
	envs := make([]Envelope, len(c.Signers))
	signerKeys := make([]crypto.PubKey, len(c.Signers))
	for j, s := range c.Signers {
		if k := keys[s]; k == nil || k.Type() != cryptopb.KeyType_Ed25519 {
			return fmt.Errorf("certificate signer %d: %w", s, ErrKeyType)
		}
		envs[j] = Envelope{Version: Version, Type: TypeVote, Signer: s, Body: body, Sig: c.Sigs[j]}
		signerKeys[j] = keys[s]
	}
	for j, ok := range VerifyEnvelopes(envs, signerKeys) { // one batch (sigverify.go)
		if !ok {
			return fmt.Errorf("certificate signer %d: %w: %v from signer %d", c.Signers[j], ErrSignature, TypeVote, c.Signers[j])
		}
	}
	return nil
}

// AssembleCertificate builds a certificate from precommit envelopes that all carry the same vote. It
// sorts them by signer and keeps one per signer. It does not verify signatures: callers assemble from
// envelopes they already verified on receipt.
func AssembleCertificate(precommits []Envelope, lim Limits) (Certificate, error) {
	if len(precommits) == 0 {
		return Certificate{}, fmt.Errorf("%w: no precommits", ErrQuorum)
	}
	sorted := slices.Clone(precommits)
	slices.SortStableFunc(sorted, func(a, b Envelope) int {
		switch {
		case a.Signer < b.Signer:
			return -1
		case a.Signer > b.Signer:
			return 1
		}
		return 0
	})
	var c Certificate
	for j, e := range sorted {
		if e.Type != TypeVote {
			return Certificate{}, fmt.Errorf("%w: envelope %d has type %v, want vote", ErrEnum, j, e.Type)
		}
		var v Vote
		if err := Unmarshal(e.Body, &v, lim); err != nil {
			return Certificate{}, fmt.Errorf("envelope %d: %w", j, err)
		}
		if v.Type != Precommit {
			return Certificate{}, fmt.Errorf("%w: envelope %d is a prevote", ErrEnum, j)
		}
		if j == 0 {
			c = Certificate{Run: v.Run, Height: v.Height, Round: v.Round, Value: v.Value}
		} else if v != c.Vote() {
			return Certificate{}, fmt.Errorf("%w: envelope %d votes for a different value or round", ErrMalformed, j)
		}
		if n := len(c.Signers); n > 0 && c.Signers[n-1] == e.Signer {
			continue
		}
		c.Signers = append(c.Signers, e.Signer)
		c.Sigs = append(c.Sigs, slices.Clone(e.Sig))
	}
	if err := c.Validate(&lim); err != nil {
		return Certificate{}, err
	}
	return c, nil
}

func (c *Certificate) sizeHint() int {
	return 1 + 34 + 9 + 5 + 34 + 5 + 4*len(c.Signers) + 5 + SigSize*len(c.Sigs)
}

// encode writes [Run, Height, Round, Value, signers as one uint32 bin, signatures as one bin].
func (c *Certificate) encode(w *encoder) {
	w.header(6, &c.Run)
	w.uint(c.Height)
	w.uint(uint64(c.Round))
	w.bytes(c.Value[:])
	w.uint32s(c.Signers)
	sigs := make([]byte, 0, SigSize*len(c.Sigs))
	for _, s := range c.Sigs {
		sigs = append(sigs, s...)
	}
	w.bytes(sigs)
}

func (c *Certificate) decode(r *decoder) error {
	var out Certificate
	if err := r.header(6, "certificate", &out.Run); err != nil {
		return err
	}
	height, round, err := r.heightRound()
	if err != nil {
		return err
	}
	if err := r.fixed(out.Value[:], "value"); err != nil {
		return err
	}
	if out.Signers, err = r.uint32s(int(r.lim.MaxMembers), "certificate signers"); err != nil {
		return err
	}
	n, err := r.blockLen(SigSize, len(out.Signers), "certificate signatures")
	if err != nil {
		return err
	}
	if n != len(out.Signers) {
		return fmt.Errorf("%w: %d signers but %d signatures", ErrMalformed, len(out.Signers), n)
	}
	all := make([]byte, SigSize*n)
	if err := r.d.ReadFull(all); err != nil {
		return readErr("certificate signatures", err)
	}
	out.Sigs = make([][]byte, n)
	for j := range out.Sigs {
		out.Sigs[j] = all[SigSize*j : SigSize*(j+1) : SigSize*(j+1)]
	}
	out.Height, out.Round = height, round
	*c = out
	return nil
}
