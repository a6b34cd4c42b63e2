package statesync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/node/roster"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Proto is the stream protocol on which a peer serves its latest certified state.
const Proto = "state/1"

// ErrBadState is wrapped by every reason to distrust a state response or a persisted state.
var ErrBadState = errors.New("node: state does not check out")

// Fetch asks peer p for its latest decided state above height from and decodes the answer, waiting at
// most timeout; checking it is the caller's (Check).
func Fetch(ctx context.Context, h p2p.Network, p p2p.PeerID, run wire.RunID, from uint64, lim wire.Limits,
	timeout time.Duration) (*wire.StateResponse, error) {
	body, err := wire.Marshal(&wire.StateRequest{Run: run, FromHeight: from})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := h.Request(rctx, p, Proto, body, lim.MaxMessage)
	if err != nil {
		return nil, err
	}
	var resp wire.StateResponse
	if err := wire.Unmarshal(raw, &resp, lim); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Check checks a certified state against a member history: run, dimension, the membership changes it
// carries beyond the history (each certified by the members of its height), a certificate by more
// than two thirds of the members in force at its height, signing the proposal's value, whose state
// digest is this state's. It returns the history extended with those changes (chain itself when it
// carries none).
func Check(chain *roster.Chain, run wire.RunID, dim int, s *wire.StateResponse) (*roster.Chain, error) {
	switch {
	case s.Run != run:
		return nil, fmt.Errorf("%w: other run", ErrBadState)
	case s.Round != s.Height+1:
		return nil, fmt.Errorf("%w: height %d but state of round %d", ErrBadState, s.Height, s.Round)
	case len(s.X) != dim:
		return nil, fmt.Errorf("%w: dimension %d", ErrBadState, len(s.X))
	}
	if len(s.Changes) > chain.Len() {
		chain = chain.Clone()
		if _, err := chain.Extend(s.Changes); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadState, err)
		}
	}
	keys, err := chain.KeysAt(s.Height)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadState, err)
	}
	if err := s.Cert.Verify(keys); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadState, err)
	}
	if s.Cert.Value != s.Proposal.ValueID() {
		return nil, fmt.Errorf("%w: certificate is for another value", ErrBadState)
	}
	st := &method.State{Round: s.Round, X: s.X, G: s.G}
	if [32]byte(s.Proposal.StateDigest) != st.Digest() {
		return nil, fmt.Errorf("%w: state digest mismatch", ErrBadState)
	}
	return chain, nil
}
