package node

import (
	"context"
	"crypto/sha256"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p/wire"
)

// byzState is a Byzantine peer's own bookkeeping (and the honest side's probe and double-vote
// records), owned by the event loop.
type byzState struct {
	forged   uint64 // messages forged so far (drives the round-robin of kinds, attack_forge.go)
	spammed  uint64 // spam messages sent so far
	flooded  uint64 // flood votes sent so far (attack_flood.go)
	lastSent uint64 // round of the last unsampled message sent

	// Not an attack: blind state probes of a stuck peer (catchup.go).
	lastProbe, probes uint64
}

// byzSend sends one of our consensus messages the Byzantine way; it reports whether it did (the
// honest send must then be skipped).
func (nd *Node) byzSend(ctx context.Context, m consensus.Message) bool {
	switch m.Kind {
	case consensus.KindVote:
		if nd.atk.withhold {
			return true
		}
		if nd.atk.equivocate || nd.atk.doubleVote {
			nd.sendVoteTwice(ctx, m.Vote)
			return true
		}
	case consensus.KindProposal:
		if nd.atk.equivocate {
			return nd.sendProposalTwice(ctx, m.Proposal)
		}
	}
	return false
}

// sendVoteTwice signs the vote consensus asked for and a conflicting one for the same slot (nil for a
// value, a made-up value for nil) and sends one to each half of the peers.
func (nd *Node) sendVoteTwice(ctx context.Context, v consensus.Vote) {
	other := consensus.ValueID{}
	if v.Value == other {
		other = consensus.ValueID(sha256.Sum256([]byte("byzpp/attack/other-value")))
	}
	first := &wire.Vote{Run: nd.run, Type: wire.VoteType(v.Type), Height: v.Height, Round: v.Round, Value: wire.Digest(v.Value)}
	second := *first
	second.Value = wire.Digest(other)
	rawA, errA := nd.sign(first)
	rawB, errB := nd.sign(&second)
	if errA != nil || errB != nil {
		nd.log.Debug("signing equivocating votes", "err", errA, "err2", errB)
		return
	}
	nd.loop.votes.Put(v, rawA, false)
	nd.splitPublish(ctx, nd.consT, rawA, rawB, false)
}

// sendProposalTwice sends our proposal to one half of the peers and a different, equally valid one
// (the same messages but the last, with its correct state digest) to the other half. It reports false
// when no second proposal can be built, leaving the honest send to go ahead.
func (nd *Node) sendProposalTwice(ctx context.Context, p consensus.Proposal) bool {
	content := nd.loop.values[p.Value]
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
		d, ok := nd.digestOf(inc, -1)
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
	rawA, errA := nd.sign(&a)
	rawB, errB := nd.sign(&b)
	if errA != nil || errB != nil {
		nd.log.Debug("signing equivocating proposals", "err", errA, "err2", errB)
		return false
	}
	bc := b
	nd.loop.values[consensus.ValueID(bc.ValueID())] = &bc
	nd.splitPublish(ctx, nd.consT, rawA, rawB, true)
	return true
}

// sign signs body as this member and encodes the envelope.
func (nd *Node) sign(body wire.Message) ([]byte, error) {
	env, err := wire.SignMessage(nd.cfg.Key, uint32(nd.self), body)
	if err != nil {
		return nil, err
	}
	return wire.Marshal(&env)
}

// corruptSignature returns raw, a signed envelope, with one bit of its signature flipped.
func (nd *Node) corruptSignature(raw []byte) []byte {
	var env wire.Envelope
	if err := wire.Unmarshal(raw, &env, nd.lim); err != nil || len(env.Sig) == 0 {
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
