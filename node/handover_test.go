package node

import (
	"context"
	"testing"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/relay"
	"github.com/byzpp/byzpp/p2p/wire"
)

// TestHandoverChecks: a handed-over vote counts, with its authenticator kept for forwarding, only if
// the voter's MAC for us holds; adopted votes are queued once and never handed over again; a past
// leader hands over only the late votes (after their step's quorum went out) of heights below its
// current one, never a quorum.
func TestHandoverChecks(t *testing.T) {
	f := newRelayFixture(t)
	nd := f.nd // member 0
	good, other := f.vote(2, 1), f.vote(3, 1)
	bad := f.auth(3, other)
	bad[0][0] ^= 1
	frame := func(votes ...wire.AuthVote) []byte {
		raw, err := (&wire.VoteHandover{Votes: votes}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	before := nd.macFailures.Load()
	in, err := nd.checkRelayFrame(frame(
		wire.AuthVote{Envelope: good, MACs: f.auth(2, good)},
		wire.AuthVote{Envelope: other, MACs: bad},                  // MAC for us flipped
		wire.AuthVote{Envelope: other, MACs: f.auth(3, other)[:3]}, // not one MAC per member
	), 1)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := in.(*handoverIn)
	if !ok || len(h.votes) != 1 || h.votes[0].env.Signer != 2 || len(h.votes[0].auth) != 4 {
		t.Fatalf("got %#v", in)
	}
	if nd.macFailures.Load() != before+1 {
		t.Fatal("the flipped MAC was not counted")
	}

	nd.adoptHandover(context.Background(), h)
	rs := &nd.loop.relay
	if a := rs.Adopted(); len(a) != 1 || !a[0].HandedOver || rs.Due().IsZero() {
		t.Fatalf("adopted %+v, clock %v", a, rs.Due())
	}
	// At height 1, where another member relays the precommits, the late votes of heights 0 and 1
	// go to it; a vote handed to us, a quorum and a vote of a later height go to everyone.
	nd.eng.State().Round = 1
	defer func() { nd.eng.State().Round = 0 }()
	to := nd.relayLeader(consensus.Vote{Type: consensus.Precommit, Height: 1})
	if to == nd.self {
		t.Skip("member 0 relays the precommits of height 1 with this seed")
	}
	lateOld := relay.Vote{Group: relay.Group{Height: 0}, Voter: 3, Raw: other, MACs: f.auth(3, other), Late: true}
	lateNow := relay.Vote{Group: relay.Group{Height: 1}, Voter: 2, Raw: good, MACs: f.auth(2, good), Late: true}
	quorum := relay.Vote{Group: relay.Group{Height: 0}, Voter: 3, Raw: other, MACs: f.auth(3, other)} // first flush: never handed over
	ahead := relay.Vote{Group: relay.Group{Height: 2}, Voter: 2, Raw: good, MACs: f.auth(2, good), Late: true}
	rest := nd.handOver([]relay.Vote{rs.Adopted()[0], lateOld, quorum, lateNow, ahead})
	if len(rest) != 3 || !rest[0].HandedOver || rest[1].Late || rest[2].Group.Height != 2 || rs.Stats.HandoversOut != 1 {
		t.Fatalf("kept %+v, %d handovers", rest, rs.Stats.HandoversOut)
	}
	if fs := nd.outbox.frames[to]; len(fs) != 1 {
		t.Fatalf("%d frames for the precommit relay %d, want one handover", len(fs), to)
	} else if h, err := wire.DecodeVoteHandover(fs[0], nd.lim); err != nil || len(h.Votes) != 2 {
		t.Fatalf("handover of %d votes (%v), want the two late ones", len(h.Votes), err)
	}
}
