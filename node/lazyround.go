package node

import (
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Lazy round messages. A round message that arrives directly from its author, over the author's
// authenticated channel, is stored without checking its signature, like a vote (direct.go): the
// channel already proves who sent it, so using it to evaluate proposals is exactly as safe as using a
// signed copy — all honest peers derive from the same bytes (proposals name messages by envelope
// digest), and an author that sends badly signed bytes over its own channel only hurts itself. Checking
// every round message on arrival cost each peer an Ed25519 verification per sampled member per round
// (11% of a 20-peer testnet's CPU). The signature still matters wherever a message leaves this peer's
// own judgement, so it is checked (once; the sigcache remembers) exactly there:
//   - before it is served to a peer that fetches it (servable): a fetcher trusts only signatures;
//   - before this peer, as leader, proposes it (signedOnly): an honest proposal holds only messages
//     any member can fetch and check, so a badly signed one is left out and its author marked faulty;
//   - before its omission from a proposal is called censorship (censor.go): leaving out a badly
//     signed message is what an honest leader does.
// What a Byzantine author gains: a badly signed message reaches honest peers directly, but an honest
// leader never includes it. A Byzantine leader that includes it anyway is proposing a message some
// honest peers cannot fetch: they do not accept the proposal (at most a failed attempt) or, if it is
// decided without them, adopt the certified state (sync.go) — the same as a proposal of a message
// they never received.

// checkedRound reports whether a held round message's signature holds, checking it at most once. A
// message that fails marks its author faulty: it sent bytes it did not sign over its own channel.
func (nd *Node) checkedRound(s *engine.Stored) bool {
	if _, verified := nd.sigs.Lookup(s.Digest); verified {
		return true
	}
	var env wire.Envelope
	err := wire.Unmarshal(s.Raw, &env, nd.lim)
	if err == nil && int(env.Signer) >= nd.n {
		err = errEnvelope
	}
	if err == nil {
		nd.verified.Add(1)
		err = env.Verify(nd.keys[env.Signer])
	}
	if err != nil {
		nd.log.Warn("round message with a bad signature from its own author", "author", s.Msg.Member, "err", err)
		nd.acct.MarkFaulty(s.Msg.Member)
		return false
	}
	nd.sigs.Add(s.Digest, nd.eng.Round(), true)
	return true
}

// signedOnly returns c without the included messages whose signature fails, with the state digest of
// what is left (c itself when every signature holds).
func (nd *Node) signedOnly(c *engine.Candidate) *engine.Candidate {
	kept := make([]engine.Inclusion, 0, len(c.Included))
	for _, in := range c.Included {
		if s, ok := nd.eng.Lookup(in.Digest); ok && nd.checkedRound(s) {
			kept = append(kept, in)
		}
	}
	if len(kept) == len(c.Included) {
		return c
	}
	d, ok := nd.digestOf(kept, -1)
	if !ok {
		return c
	}
	out := *c
	out.Included, out.StateDigest, out.Next = kept, d, nil
	return &out
}

// servable reports whether an envelope we hold may be served to a peer: its signature was checked, or
// holds now. It runs on stream goroutines.
func (nd *Node) servable(raw []byte) bool {
	d := envelopeDigest(raw)
	if _, verified := nd.sigs.Lookup(d); verified {
		return true
	}
	var env wire.Envelope
	if wire.Unmarshal(raw, &env, nd.lim) != nil || int(env.Signer) >= nd.n {
		return false
	}
	nd.verified.Add(1)
	if env.Verify(nd.keys[env.Signer]) != nil {
		return false
	}
	nd.sigs.Add(d, nd.current.Load(), true)
	return true
}
