package node

import (
	"context"
	"testing"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/p2p/wire"
)

// TestSpeculationOvertaken: a member sampled for round 1 prevotes for a value of height 0 and sends
// its round-1 message computed at the state that value leads to; another value is decided. The member
// notices, sends a message computed at the decided state, and neither it nor a peer that received
// both takes the two for equivocation; both keep only the message at the decided state.
func TestSpeculationOvertaken(t *testing.T) {
	nodes := relayNodes(t)
	var nd, peer *Node
	for _, x := range nodes {
		if x.eng.Plan(1).Contains(x.self) && nd == nil {
			nd = x
		} else if peer == nil {
			peer = x
		}
	}
	if nd == nil || peer == nil {
		t.Skip("no member sampled in round 1")
	}
	testNodes[nd] = nodes
	ctx := context.Background()
	// Round 0: every sampled member's honest message, as nd receives them.
	st0 := nd.eng.State()
	plan0 := nd.eng.Plan(0)
	for _, i := range plan0.Sample {
		v := nodes[i].own.HonestMessage(&nd.setup.Method, nd.gen.Spec.Seed, st0, plan0, nil)
		body := &wire.RoundMsg{Run: nd.run, Round: 0, Member: uint32(i), Full: plan0.Full,
			StateDigest: wire.Digest(st0.Digest()), Vec: toWire(v)}
		raw := signed(t, nd, i, body, false)
		in, err := nd.checkRound(raw, true)
		if err != nil {
			t.Fatal(err)
		}
		nd.addRound(in)
	}
	c, err := nd.eng.Propose()
	if err != nil {
		t.Fatal(err)
	}
	nd.loop.relay.NoteLeaderProposal(0, 0, 0)
	prevote := consensus.Vote{Type: consensus.Prevote, Height: 0, Round: 0, Value: consensus.ValueID(c.ValueID()), Voter: nd.self}
	nd.speculate(prevote, true)
	if nd.loop.relay.Stats.Speculated != 1 {
		t.Fatal("no speculative message for round 1")
	}
	ahead := nd.eng.Held(1)
	if len(ahead) != 1 || ahead[0].State != c.StateDigest {
		t.Fatalf("the speculative message is not held at the candidate's state: %d held", len(ahead))
	}
	// It went, authenticated, to the leader of round 1 alone (or waits for our own bundles).
	if leader := nd.leaderOf(1, 0); leader == nd.self {
		if len(nd.loop.relay.Rounds()) != 1 {
			t.Fatalf("as the next leader, %d messages queued for our bundles, want ours", len(nd.loop.relay.Rounds()))
		}
	} else {
		if len(nd.outbox.dirty) != 1 || nd.outbox.dirty[0] != leader || len(nd.outbox.frames[leader]) != 1 {
			t.Fatalf("frames went to %v, want one to the next leader %d", nd.outbox.dirty, leader)
		}
		if k, err := wire.RelayFrameKind(nd.outbox.frames[leader][0]); err != nil || k != wire.KindAuthRound {
			t.Fatalf("frame to the next leader: kind %v, %v; want an AuthRound", k, err)
		}
	}
	nd.flushOutbox()
	peer.addRound(&roundIn{msg: mustRound(t, nd, ahead[0].Raw), raw: ahead[0].Raw, digest: ahead[0].Digest})

	// Another value is decided: a state other than the candidate's.
	other := &method.State{Round: 1, X: append([]float64(nil), c.Next.X...), G: append([]float64(nil), c.Next.G...)}
	other.X[0] += 1
	nd.eng.Reset(other)
	nd.sendOwn(ctx)
	if nd.loop.relay.Stats.SpeculationMisses != 1 {
		t.Fatalf("%d overtaken speculations noticed, want 1", nd.loop.relay.Stats.SpeculationMisses)
	}
	held := nd.eng.Held(1)
	if len(held) != 1 || held[0].State != engine.Digest(other.Digest()) {
		t.Fatalf("after the decision the member holds %d messages, want its one at the decided state", len(held))
	}
	// The peer received the speculative message, then the new one: no equivocation, and only the
	// new one counts once the peer reaches the decided state.
	peer.addRound(&roundIn{msg: mustRound(t, nd, held[0].Raw), raw: held[0].Raw, digest: held[0].Digest})
	peer.eng.Reset(other)
	if got := peer.eng.Held(1); len(got) != 1 || got[0].Digest != held[0].Digest {
		t.Fatalf("the peer holds %d messages for round 1, want the one at the decided state", len(got))
	}
	for _, x := range []*Node{nd, peer} {
		if x.acct.Faulty(nd.self) {
			t.Fatalf("member %d took the overtaken speculation for equivocation", x.self)
		}
	}
}

// mustRound decodes a round message envelope.
func mustRound(t *testing.T, nd *Node, raw []byte) *wire.RoundMsg {
	t.Helper()
	in, err := nd.checkRound(raw, false)
	if err != nil {
		t.Fatal(err)
	}
	return in.msg
}
