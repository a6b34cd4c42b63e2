package byzantine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Rates of the message-forging attacks, so that a Byzantine test peer exercises every check without
// swamping the machine it shares with the honest ones.
const (
	forgeEveryTicks = 1 // AttackInvalid: one forged message per tick
	spamPerTick     = 2 // AttackSpam: messages per tick
)

// forgedKinds is the round-robin of AttackInvalid.
var forgedKinds = []string{"garbage", "oversized", "non-finite", "wrong-dimension", "unsampled",
	"non-leader", "far-future", "bad-signature", "replay", "stream"}

// Tick runs the forging and flooding attacks once per tick (called from onTick).
func (b *byzantine) Tick(ctx context.Context) {
	if b.atk.mute {
		return
	}
	if b.atk.unsampled {
		b.sendUnsampled(ctx)
	}
	if b.atk.invalid && b.env.Ticks()%forgeEveryTicks == 0 {
		kind := forgedKinds[b.byz.forged%uint64(len(forgedKinds))]
		b.byz.forged++
		b.forge(ctx, kind)
	}
	if b.atk.spam {
		for range spamPerTick {
			b.spam(ctx)
		}
	}
	if b.atk.voteFlood {
		b.floodVotes() // attack_flood.go
	}
}

// forge sends one message of the given kind; every kind must be rejected, ignored or dropped by
// honest peers.
func (b *byzantine) forge(ctx context.Context, kind string) {
	if kind == "stream" {
		b.forgeRequests(ctx)
		return
	}
	raw, consensusTopic := b.forgedMessage(kind)
	if raw == nil {
		return
	}
	if err := b.env.Publish(ctx, consensusTopic, raw); err != nil {
		b.env.Log().Debug("forged message not sent", "kind", kind, "err", err)
	}
}

// forgedMessage builds one gossip message of the given kind and tells on which topic it goes (nil
// when it cannot be built now, e.g. no old envelope to replay yet).
func (b *byzantine) forgedMessage(kind string) (raw []byte, consensusTopic bool) {
	k := b.env.Round()
	dim := b.env.Dim()
	switch kind {
	case "garbage":
		sum := sha256.Sum256(binary.LittleEndian.AppendUint64([]byte("garbage"), b.byz.forged))
		return sum[:], false
	case "oversized":
		return bytes.Repeat([]byte{0xc1}, b.env.Limits().MaxEnvelope+1), true // 0xc1 is never valid msgpack
	case "non-finite":
		return b.nonFiniteRound(k), false
	case "wrong-dimension":
		raw, _ = b.env.Sign(b.roundBody(k, dim-1))
		return raw, false
	case "unsampled":
		raw, _ = b.env.Sign(b.roundBody(b.unsampledRound(k), dim))
		return raw, false
	case "non-leader":
		attempt := uint32(0)
		for method.Leader(b.env.Seed(), k, attempt, b.env.N()) == b.env.Self() && attempt < 64 {
			attempt++
		}
		raw, _ = b.env.Sign(&wire.Proposal{Run: b.env.Run(), Height: k, Round: attempt, POLRound: -1})
		return raw, true
	case "far-future":
		raw, _ = b.env.Sign(&wire.Vote{Run: b.env.Run(), Type: wire.Prevote, Height: k + 1000, Round: uint32(b.byz.forged)})
		return raw, true
	case "bad-signature":
		env, err := wire.SignMessage(b.env.Key(), uint32(b.env.Self()), &wire.Vote{Run: b.env.Run(), Type: wire.Prevote, Height: k, Round: 7})
		if err != nil {
			return nil, true
		}
		env.Sig[0] ^= 0x01
		raw, _ = wire.Marshal(&env)
		return raw, true
	case "replay":
		return b.env.DecidedEnvelope(), false
	}
	return nil, false
}

// roundBody is a well-formed round message of this member for round k with a dense vector of the
// given dimension, computed (as it claims) at this member's current state.
func (b *byzantine) roundBody(k uint64, dim int) *wire.RoundMsg {
	return &wire.RoundMsg{Run: b.env.Run(), Round: k, Member: uint32(b.env.Self()), Full: b.env.Plan(k).Full,
		StateDigest: wire.Digest(b.env.StateDigest()), Vec: wire.Vector{Dim: uint32(dim), Values: make([]float64, dim)}}
}

// unsampledRound returns the first round from k on in which this member is not sampled.
func (b *byzantine) unsampledRound(k uint64) uint64 {
	for r := k; r < k+64; r++ {
		if !b.env.Plan(r).Contains(b.env.Self()) {
			return r
		}
	}
	return k
}

// nonFiniteRound signs a round message carrying a NaN: the encoder refuses non-finite values, so a
// marker value is encoded and its bytes swapped for a NaN's.
func (b *byzantine) nonFiniteRound(k uint64) []byte {
	const marker = 1234.5
	body := b.roundBody(k, b.env.Dim())
	body.Vec.Values[0] = marker
	enc, err := wire.Marshal(body)
	if err != nil {
		return nil
	}
	mark := binary.LittleEndian.AppendUint64(nil, math.Float64bits(marker))
	enc = bytes.Replace(enc, mark, binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN())), 1)
	env, err := wire.Sign(b.env.Key(), wire.TypeRound, uint32(b.env.Self()), enc)
	if err != nil {
		return nil
	}
	raw, _ := wire.Marshal(&env)
	return raw
}

// forgeRequests sends a malformed and a wrong-run request on each stream protocol to one peer.
func (b *byzantine) forgeRequests(ctx context.Context) {
	target := (b.env.Self() + 1 + int(b.byz.forged)) % b.env.N()
	if target == b.env.Self() {
		return
	}
	other := b.env.Run()
	other[0] ^= 0xff
	wrongRun, _ := wire.Marshal(&wire.StateRequest{Run: other})
	go func() {
		for _, r := range []struct {
			proto Stream
			body  []byte
		}{{StreamMsgs, []byte{0xc1, 0xc1}}, {StreamState, wrongRun}, {StreamMsgs, bytes.Repeat([]byte{0}, b.env.Limits().MaxMessage+1)}} {
			err := b.env.Request(ctx, target, r.proto, r.body)
			b.env.Log().Debug("forged request answered", "proto", r.proto, "err", err)
		}
	}()
}

// sendUnsampled sends, once per round, a correctly signed round message although this member is not
// sampled in that round.
func (b *byzantine) sendUnsampled(ctx context.Context) {
	k := b.env.Round()
	if b.byz.lastSent == k+1 || b.env.Plan(k).Contains(b.env.Self()) {
		return
	}
	b.byz.lastSent = k + 1 // +1 so that round 0 counts as not yet sent
	raw, err := b.env.Sign(b.roundBody(k, b.env.Dim()))
	if err == nil {
		err = b.env.Publish(ctx, false, raw)
	}
	if err != nil {
		b.env.Log().Debug("unsampled message not sent", "round", k, "err", err)
	}
}

// spam sends one valid-looking but useless message: a duplicate of an old envelope (gossip drops
// it), a signed vote for a decided height (stale), or for a height far ahead (future), or a vote
// for a random value at the next height (buffered by consensus within its per-sender bound).
func (b *byzantine) spam(ctx context.Context) {
	k := b.env.Round()
	i := b.byz.spammed
	b.byz.spammed++
	var raw []byte
	var err error
	vote := &wire.Vote{Run: b.env.Run(), Type: wire.Prevote + wire.VoteType(i%2), Round: uint32(i)}
	switch i % 4 {
	case 0:
		raw = b.env.DecidedEnvelope()
	case 1:
		if k == 0 {
			return
		}
		vote.Height = k - 1
		raw, err = b.env.Sign(vote)
	case 2:
		vote.Height = k + b.env.FutureHeights() + 1 + i%8
		raw, err = b.env.Sign(vote)
	case 3:
		vote.Height = k + 1
		vote.Round = uint32(i % 3)
		vote.Value = wire.Digest(sha256.Sum256(binary.LittleEndian.AppendUint64(nil, i)))
		raw, err = b.env.Sign(vote)
	}
	if err != nil || raw == nil {
		return
	}
	_ = b.env.Publish(ctx, i%4 != 0, raw)
}

// ForgedMessage builds one gossip message of the given AttackInvalid kind as env's member would forge
// it, and tells on which topic it goes (tests feed it straight to a validator).
func ForgedMessage(env Env, kind string) (raw []byte, consensusTopic bool) {
	return (&byzantine{env: env}).forgedMessage(kind)
}

// RoundBody is a well-formed round message of env's member for round k with a zero dense vector of the
// given dimension, computed (as it claims) at the member's current state.
func RoundBody(env Env, k uint64, dim int) *wire.RoundMsg {
	return (&byzantine{env: env}).roundBody(k, dim)
}

// ForgedKinds lists the kinds of message AttackInvalid forges, in its round-robin order.
func ForgedKinds() []string { return append([]string(nil), forgedKinds...) }
