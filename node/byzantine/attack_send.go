package byzantine

import (
	"context"
	"crypto/sha256"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/p2p/wire"
)

// byzState is a Byzantine peer's own bookkeeping, owned by the event loop.
type byzState struct {
	forged   uint64 // messages forged so far (drives the round-robin of kinds, attack_forge.go)
	spammed  uint64 // spam messages sent so far
	flooded  uint64 // flood votes sent so far (attack_flood.go)
	lastSent uint64 // round of the last unsampled message sent
}

// byzSend sends one of our consensus messages the Byzantine way; it reports whether it did (the
// honest send must then be skipped).
func (b *byzantine) byzSend(ctx context.Context, m consensus.Message) bool {
	switch m.Kind {
	case consensus.KindVote:
		if b.atk.withhold {
			return true
		}
		if b.atk.equivocate || b.atk.doubleVote {
			b.sendVoteTwice(ctx, m.Vote)
			return true
		}
	case consensus.KindProposal:
		if b.atk.equivocate {
			return b.sendProposalTwice(ctx, m.Proposal)
		}
	}
	return false
}

// sendVoteTwice signs the vote consensus asked for and a conflicting one for the same slot (nil for a
// value, a made-up value for nil) and sends one to each half of the peers.
func (b *byzantine) sendVoteTwice(ctx context.Context, v consensus.Vote) {
	other := consensus.ValueID{}
	if v.Value == other {
		other = consensus.ValueID(sha256.Sum256([]byte("byzpp/attack/other-value")))
	}
	first := &wire.Vote{Run: b.env.Run(), Type: wire.VoteType(v.Type), Height: v.Height, Round: v.Round, Value: wire.Digest(v.Value)}
	second := *first
	second.Value = wire.Digest(other)
	rawA, errA := b.env.Sign(first)
	rawB, errB := b.env.Sign(&second)
	if errA != nil || errB != nil {
		b.env.Log().Debug("signing equivocating votes", "err", errA, "err2", errB)
		return
	}
	b.env.RecordVote(v, rawA)
	b.splitPublish(ctx, true, rawA, rawB, false)
}

// sendProposalTwice sends our proposal to one half of the peers and a different, equally valid one
// (the same messages but the last, with its correct state digest) to the other half. It reports false
// when no second proposal can be built, leaving the honest send to go ahead.
func (by *byzantine) sendProposalTwice(ctx context.Context, p consensus.Proposal) bool {
	content := by.env.Value(p.Value)
	if content == nil {
		return false
	}
	a := *content
	a.Round, a.POLRound = p.Round, p.POLRound
	b := a
	b.Included = a.Included[:0:0]
	if len(a.Included) > 1 {
		inc := inclusions(&a)
		inc = inc[:len(inc)-1]
		d, ok := by.env.DigestOf(inc, -1)
		if !ok {
			return false
		}
		b.Included = append(b.Included, a.Included[:len(a.Included)-1]...)
		b.StateDigest = wire.Digest(d)
	} else {
		// Nothing to drop: the second proposal is simply wrong.
		b.Included = append(b.Included, a.Included...)
		b.StateDigest[0] ^= 0xff
	}
	rawA, errA := by.env.Sign(&a)
	rawB, errB := by.env.Sign(&b)
	if errA != nil || errB != nil {
		by.env.Log().Debug("signing equivocating proposals", "err", errA, "err2", errB)
		return false
	}
	bc := b
	by.env.PutValue(consensus.ValueID(bc.ValueID()), &bc)
	by.splitPublish(ctx, true, rawA, rawB, true)
	return true
}

// corruptSignature returns raw, a signed envelope, with one bit of its signature flipped.
func (b *byzantine) corruptSignature(raw []byte) []byte {
	var env wire.Envelope
	if err := wire.Unmarshal(raw, &env, b.env.Limits()); err != nil || len(env.Sig) == 0 {
		return raw
	}
	env.Sig = append([]byte(nil), env.Sig...)
	env.Sig[len(env.Sig)/2] ^= 0x10
	out, err := wire.Marshal(&env)
	if err != nil {
		return raw
	}
	return out
}

// inclusions is p's inclusion list as the engine takes it.
func inclusions(p *wire.Proposal) []engine.Inclusion {
	out := make([]engine.Inclusion, len(p.Included))
	for i, in := range p.Included {
		out[i] = engine.Inclusion{Member: int(in.Member), Digest: engine.Digest(in.Digest)}
	}
	return out
}
