package node

import (
	"testing"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/roster"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// TestOtherEpochNotBlamed: around a change of the member list, an honest member sends messages
// signed with the indices of an epoch the receiver has not reached or not learned of (a newcomer's
// index beyond the old list, another member's key at its index, a leader or sample of another member
// count). A receiver in an open run ignores such a message when its height may belong to another
// epoch — from ActivationDelay heights past its own on — instead of rejecting it and naming the
// sender (TestNodeFaultSchedules named and cut off honest members for it); at its own height, and in
// a closed run, the same message is still rejected.
func TestOtherEpochNotBlamed(t *testing.T) {
	keys, ids := testKeys(t, 5)
	spec := smallSpec(0, "none")
	build := func(open bool) *Node {
		g := &genesis.Genesis{Version: genesis.Version, Name: "epochs", Members: ids[:4], Spec: spec,
			Timeouts: genesis.DefaultTimeouts()}
		if open {
			g.Open, g.MaxMembers = true, 5
		}
		hosts, closeHosts := memHosts(t, keys[:1], p2p.Options{})
		t.Cleanup(closeHosts)
		nd, err := New(Config{Genesis: g, Key: keys[0], Host: hosts[0]})
		if err != nil {
			t.Fatal(err)
		}
		return nd
	}
	type message struct {
		name   string
		build  func(nd *Node, h uint64) []byte
		sender int // the member whose channel it came over (−1: relayed by someone else)
	}
	sign := func(key int, signer uint32, m wire.Message) []byte {
		env, err := wire.SignMessage(keys[key], signer, m)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := wire.Marshal(&env)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	vote := func(nd *Node, h uint64) *wire.Vote {
		return &wire.Vote{Run: nd.run, Type: wire.Prevote, Height: h, Value: wire.Digest{7}}
	}
	messages := []message{
		{"a newcomer's vote, signed with its index in a larger list", func(nd *Node, h uint64) []byte {
			return sign(4, 4, vote(nd, h))
		}, -1},
		{"a relayed vote signed at an index another key holds here", func(nd *Node, h uint64) []byte {
			return sign(4, 1, vote(nd, h))
		}, -1},
		{"a proposal from a member that leads that attempt in another member list", func(nd *Node, h uint64) []byte {
			var leader int
			for attempt := uint32(0); ; attempt++ {
				leader = method.Leader(nd.gen.Spec.Seed, h, attempt, nd.n)
				if leader != 1 {
					return sign(1, 1, &wire.Proposal{Run: nd.run, Height: h, Round: attempt, POLRound: -1})
				}
			}
		}, 1},
	}
	for _, m := range messages {
		for _, tc := range []struct {
			open   bool
			ahead  uint64
			reject bool
		}{
			{open: true, ahead: 0, reject: true},
			{open: true, ahead: roster.ActivationDelay, reject: false},
			{open: false, ahead: roster.ActivationDelay, reject: true},
		} {
			nd := build(tc.open)
			h := nd.current.Load() + tc.ahead
			_, err := nd.checkConsensusFrom(m.build(nd, h), m.sender)
			if err == nil {
				t.Fatalf("%s (open %v, %d ahead): accepted", m.name, tc.open, tc.ahead)
			}
			res, reason := verdict(err)
			if rejected := res == p2p.Reject; rejected != tc.reject {
				t.Errorf("%s (open %v, %d heights ahead): verdict %v (%s, %v), want reject=%v",
					m.name, tc.open, tc.ahead, res, reason, err, tc.reject)
			}
		}
	}
}
