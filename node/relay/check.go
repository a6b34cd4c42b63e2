package relay

import (
	"errors"
	"fmt"

	"github.com/byzpp/byzpp/p2p/wire"
)

// Receive-side checks of relay frames (reader goroutines): what needs only the pairwise keys and
// the wire limits. The node checks the votes that pass as votes from their signers (signature cache,
// height, run) and dispatches the other relay frames.

var (
	// ErrMAC: a relayed vote's or round message's MAC for us does not hold.
	ErrMAC = errors.New("relayed vote: MAC does not hold")
	// ErrEnvelope: a frame or an envelope in it is malformed or not what its place requires.
	ErrEnvelope = errors.New("bad envelope")
	// ErrSender: a vote to relay did not come from its signer.
	ErrSender = errors.New("sender mismatch")
)

// Checker checks relay frames for member Self of N, with its pairwise keys (not nil).
type Checker struct {
	Keys *PairKeys
	Self int
	N    int
	Lim  wire.Limits
}

// Checked is a vote of a relay frame that decoded and whose MAC for us held (or needed none).
type Checked struct {
	Raw    []byte
	Env    wire.Envelope
	Voter  int
	Digest [32]byte   // EnvelopeDigest(Raw)
	MACs   []wire.MAC // the whole authenticator, for a vote we may forward (AuthVote, handover)
}

// Envelope decodes a vote envelope of a member.
func (c *Checker) Envelope(raw []byte) (wire.Envelope, error) {
	var env wire.Envelope
	if err := wire.Unmarshal(raw, &env, c.Lim); err != nil {
		return env, fmt.Errorf("%w: %w", ErrEnvelope, err)
	}
	if env.Type != wire.TypeVote || int(env.Signer) >= c.N {
		return env, fmt.Errorf("%w: %v from %d where a vote was expected", ErrEnvelope, env.Type, env.Signer)
	}
	return env, nil
}

// AuthVote checks an authenticated vote sent to us, as leader, by member sender, who must be its
// signer (the channel authenticates it), with one MAC per member.
func (c *Checker) AuthVote(raw []byte, sender int) (Checked, error) {
	a, err := wire.DecodeAuthVote(raw, c.Lim)
	if err != nil {
		return Checked{}, err
	}
	if len(a.MACs) != c.N {
		return Checked{}, fmt.Errorf("%w: %d MACs for %d members", ErrEnvelope, len(a.MACs), c.N)
	}
	env, err := c.Envelope(a.Envelope)
	if err != nil {
		return Checked{}, err
	}
	if int(env.Signer) != sender {
		return Checked{}, fmt.Errorf("%w: vote of %d sent by %d", ErrSender, env.Signer, sender)
	}
	return Checked{Raw: a.Envelope, Env: env, Voter: sender, Digest: EnvelopeDigest(a.Envelope), MACs: a.MACs}, nil
}

// Bundle checks a vote bundle from leader sender: the votes, other than our own, whose voter's MAC
// for us holds (the leader's own vote needs none: its channel authenticates it). A vote dropped
// otherwise is reported to drop (voter −1: its envelope did not decode; err ErrMAC: its MAC failed).
func (c *Checker) Bundle(raw []byte, sender int, drop func(voter int, err error)) ([]Checked, error) {
	b, err := wire.DecodeVoteBundle(raw, c.Lim)
	if err != nil {
		return nil, err
	}
	out := make([]Checked, 0, len(b.Votes)) // bounded by the decoder's caps
	for _, rv := range b.Votes {
		env, err := c.Envelope(rv.Envelope)
		if err != nil {
			drop(-1, err)
			continue
		}
		voter := int(env.Signer)
		if voter == c.Self {
			continue
		}
		d := EnvelopeDigest(rv.Envelope)
		if voter != sender && !c.Keys.Check(voter, d, rv.MAC) {
			drop(voter, ErrMAC)
			continue
		}
		out = append(out, Checked{Raw: rv.Envelope, Env: env, Voter: voter, Digest: d})
	}
	return out, nil
}

// Handover checks a handover frame: the votes with one MAC per member whose voter's MAC for us holds
// (our own vote needs none), each kept with its authenticator for forwarding. Drops are reported as
// in Bundle; a vote without a whole authenticator is skipped silently.
func (c *Checker) Handover(raw []byte, drop func(voter int, err error)) ([]Checked, error) {
	h, err := wire.DecodeVoteHandover(raw, c.Lim)
	if err != nil {
		return nil, err
	}
	var out []Checked
	for _, a := range h.Votes {
		if len(a.MACs) != c.N {
			continue
		}
		env, err := c.Envelope(a.Envelope)
		if err != nil {
			drop(-1, err)
			continue
		}
		voter := int(env.Signer)
		d := EnvelopeDigest(a.Envelope)
		if voter != c.Self && !c.Keys.Check(voter, d, a.MACs[c.Self]) {
			drop(voter, ErrMAC)
			continue
		}
		out = append(out, Checked{Raw: a.Envelope, Env: env, Voter: voter, Digest: d, MACs: a.MACs})
	}
	return out, nil
}
