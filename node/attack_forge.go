package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/libp2p/go-libp2p/core/peer"
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

// byzTick runs the forging attacks once per tick (called from onTick).
func (nd *Node) byzTick(ctx context.Context) {
	if nd.atk.mute {
		return
	}
	if nd.atk.unsampled {
		nd.sendUnsampled(ctx)
	}
	if nd.atk.invalid && nd.loop.ticks%forgeEveryTicks == 0 {
		kind := forgedKinds[nd.byz.forged%uint64(len(forgedKinds))]
		nd.byz.forged++
		nd.forge(ctx, kind)
	}
	if nd.atk.spam {
		for range spamPerTick {
			nd.spam(ctx)
		}
	}
	if nd.atk.voteFlood {
		nd.floodVotes() // attack_flood.go
	}
}

// forge sends one message of the given kind; every kind must be rejected, ignored or dropped by
// honest peers.
func (nd *Node) forge(ctx context.Context, kind string) {
	if kind == "stream" {
		nd.forgeRequests(ctx)
		return
	}
	raw, consensusTopic := nd.forgedMessage(kind)
	if raw == nil {
		return
	}
	t := nd.roundT
	if consensusTopic {
		t = nd.consT
	}
	if err := t.Publish(ctx, raw); err != nil {
		nd.log.Debug("forged message not sent", "kind", kind, "err", err)
	}
}

// forgedMessage builds one gossip message of the given kind and tells on which topic it goes (nil
// when it cannot be built now, e.g. no old envelope to replay yet).
func (nd *Node) forgedMessage(kind string) (raw []byte, consensusTopic bool) {
	k := nd.eng.Round()
	dim := nd.setup.Model.Dim()
	switch kind {
	case "garbage":
		sum := sha256.Sum256(binary.LittleEndian.AppendUint64([]byte("garbage"), nd.byz.forged))
		return sum[:], false
	case "oversized":
		return bytes.Repeat([]byte{0xc1}, nd.lim.MaxEnvelope+1), true // 0xc1 is never valid msgpack
	case "non-finite":
		return nd.nonFiniteRound(k), false
	case "wrong-dimension":
		raw, _ = nd.sign(nd.roundBody(k, dim-1))
		return raw, false
	case "unsampled":
		raw, _ = nd.sign(nd.roundBody(nd.unsampledRound(k), dim))
		return raw, false
	case "non-leader":
		attempt := uint32(0)
		for method.Leader(nd.gen.Spec.Seed, k, attempt, nd.n) == nd.self && attempt < 64 {
			attempt++
		}
		raw, _ = nd.sign(&wire.Proposal{Run: nd.run, Height: k, Round: attempt, POLRound: -1})
		return raw, true
	case "far-future":
		raw, _ = nd.sign(&wire.Vote{Run: nd.run, Type: wire.Prevote, Height: k + 1000, Round: uint32(nd.byz.forged)})
		return raw, true
	case "bad-signature":
		env, err := wire.SignMessage(nd.cfg.Key, uint32(nd.self), &wire.Vote{Run: nd.run, Type: wire.Prevote, Height: k, Round: 7})
		if err != nil {
			return nil, true
		}
		env.Sig[0] ^= 0x01
		raw, _ = wire.Marshal(&env)
		return raw, true
	case "replay":
		return nd.oldEnvelope(), false
	}
	return nil, false
}

// roundBody is a well-formed round message of this member for round k with a dense vector of the
// given dimension, computed (as it claims) at this member's current state.
func (nd *Node) roundBody(k uint64, dim int) *wire.RoundMsg {
	return &wire.RoundMsg{Run: nd.run, Round: k, Member: uint32(nd.self), Full: nd.eng.Plan(k).Full,
		StateDigest: wire.Digest(nd.eng.Digest()), Vec: wire.Vector{Dim: uint32(dim), Values: make([]float64, dim)}}
}

// unsampledRound returns the first round from k on in which this member is not sampled.
func (nd *Node) unsampledRound(k uint64) uint64 {
	for r := k; r < k+64; r++ {
		if !nd.eng.Plan(r).Contains(nd.self) {
			return r
		}
	}
	return k
}

// nonFiniteRound signs a round message carrying a NaN: the encoder refuses non-finite values, so a
// marker value is encoded and its bytes swapped for a NaN's.
func (nd *Node) nonFiniteRound(k uint64) []byte {
	const marker = 1234.5
	body := nd.roundBody(k, nd.setup.Model.Dim())
	body.Vec.Values[0] = marker
	enc, err := wire.Marshal(body)
	if err != nil {
		return nil
	}
	mark := binary.LittleEndian.AppendUint64(nil, math.Float64bits(marker))
	enc = bytes.Replace(enc, mark, binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN())), 1)
	env, err := wire.Sign(nd.cfg.Key, wire.TypeRound, uint32(nd.self), enc)
	if err != nil {
		return nil
	}
	raw, _ := wire.Marshal(&env)
	return raw
}

// oldEnvelope returns a valid envelope of an already decided round (any member's), for a replay.
func (nd *Node) oldEnvelope() []byte {
	k := nd.current.Load()
	nd.mu.Lock()
	defer nd.mu.Unlock()
	var best []byte
	var bestDigest [32]byte
	for r, m := range nd.served {
		if r >= k {
			continue
		}
		for d, raw := range m { // pick the smallest digest so the choice does not depend on map order
			if best == nil || bytes.Compare(d[:], bestDigest[:]) < 0 {
				best, bestDigest = raw, d
			}
		}
	}
	return best
}

// forgeRequests sends a malformed and a wrong-run request on each stream protocol to one peer.
func (nd *Node) forgeRequests(ctx context.Context) {
	target := nd.peers[(nd.self+1+int(nd.byz.forged))%nd.n]
	if target == nd.peers[nd.self] {
		return
	}
	other := nd.run
	other[0] ^= 0xff
	wrongRun, _ := wire.Marshal(&wire.StateRequest{Run: other})
	go func() {
		for _, r := range []struct {
			proto string
			body  []byte
		}{{protoMsgs, []byte{0xc1, 0xc1}}, {protoState, wrongRun}, {protoMsgs, bytes.Repeat([]byte{0}, nd.lim.MaxMessage+1)}} {
			rctx, cancel := context.WithTimeout(ctx, requestTimeout)
			_, err := nd.cfg.Host.Request(rctx, target, r.proto, r.body, nd.lim.MaxMessage)
			cancel()
			nd.log.Debug("forged request answered", "proto", r.proto, "err", err)
		}
	}()
}

// sendUnsampled sends, once per round, a correctly signed round message although this member is not
// sampled in that round.
func (nd *Node) sendUnsampled(ctx context.Context) {
	k := nd.eng.Round()
	if nd.byz.lastSent == k+1 || nd.eng.Plan(k).Contains(nd.self) {
		return
	}
	nd.byz.lastSent = k + 1 // +1 so that round 0 counts as not yet sent
	raw, err := nd.sign(nd.roundBody(k, nd.setup.Model.Dim()))
	if err == nil {
		err = nd.roundT.Publish(ctx, raw)
	}
	if err != nil {
		nd.log.Debug("unsampled message not sent", "round", k, "err", err)
	}
}

// spam sends one valid-looking but useless message: a duplicate of an old envelope (gossip drops
// it), a signed vote for a decided height (stale), or for a height far ahead (future), or a vote
// for a random value at the next height (buffered by consensus within its per-sender bound).
func (nd *Node) spam(ctx context.Context) {
	k := nd.eng.Round()
	i := nd.byz.spammed
	nd.byz.spammed++
	var raw []byte
	var err error
	vote := &wire.Vote{Run: nd.run, Type: wire.Prevote + wire.VoteType(i%2), Round: uint32(i)}
	switch i % 4 {
	case 0:
		raw = nd.oldEnvelope()
	case 1:
		if k == 0 {
			return
		}
		vote.Height = k - 1
		raw, err = nd.sign(vote)
	case 2:
		vote.Height = k + maxFutureHeights + 1 + i%8
		raw, err = nd.sign(vote)
	case 3:
		vote.Height = k + 1
		vote.Round = uint32(i % 3)
		vote.Value = wire.Digest(sha256.Sum256(binary.LittleEndian.AppendUint64(nil, i)))
		raw, err = nd.sign(vote)
	}
	if err != nil || raw == nil {
		return
	}
	t := nd.consT
	if i%4 == 0 {
		t = nd.roundT
	}
	_ = t.Publish(ctx, raw)
}

// ownForgery lets this Byzantine peer's own forged publishes past its own validator (gossipsub runs
// the validator on local publishes and refuses to send what it rejects). Honest peers never skip it.
func (nd *Node) ownForgery(from peer.ID) bool {
	return nd.atk.forges() && from == nd.cfg.Host.ID()
}
