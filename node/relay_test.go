package node

import (
	"errors"
	"github.com/byzpp/byzpp/node/byzantine"
	"testing"
	"testing/synctest"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/relay"
	"github.com/byzpp/byzpp/p2p/wire"
)

// relayFixture is member 0 of four test nodes, with helpers to make other members' authenticated votes.
type relayFixture struct {
	t     *testing.T
	nodes []*Node
	nd    *Node
}

func newRelayFixture(t *testing.T) *relayFixture {
	nodes := relayNodes(t)
	testNodes[nodes[0]] = nodes
	return &relayFixture{t: t, nodes: nodes, nd: nodes[0]}
}

// vote is voter's signed prevote at height 0 for value.
func (f *relayFixture) vote(voter int, value byte) []byte {
	body := &wire.Vote{Run: f.nd.run, Type: wire.Prevote, Height: 0, Round: 0, Value: wire.Digest{value}}
	return signed(f.t, f.nd, voter, body, false)
}

// auth is voter's authenticator of raw, made with the voter's own pairwise keys.
func (f *relayFixture) auth(voter int, raw []byte) []wire.MAC {
	return f.nodes[voter].pairs.Authenticator(envelopeDigest(raw))
}

func (f *relayFixture) bundle(votes ...wire.RelayedVote) []byte {
	raw, err := (&wire.VoteBundle{Votes: votes}).Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	return raw
}

// relayNodes are four test nodes that relay votes although they are fewer than relayMinMembers.
func relayNodes(t testing.TB) []*Node {
	nodes := pairOfNodes(t, 4, nil)
	for _, nd := range nodes {
		nd.relayMin = 0
	}
	return nodes
}

// TestRelayedVoteNeedsItsMAC: a receiver counts a relayed vote, unverified, only when the voter's MAC
// for it holds; every way a leader can get the MAC wrong drops the vote and counts a failure.
func TestRelayedVoteNeedsItsMAC(t *testing.T) {
	f := newRelayFixture(t)
	nd := f.nd
	good := f.vote(2, 1)
	other := f.vote(3, 1)
	flipped := f.auth(2, good)[0]
	flipped[5] ^= 1
	cases := []struct {
		name string
		rv   wire.RelayedVote
		ok   bool
	}{
		{"the voter's MAC for us", wire.RelayedVote{Envelope: good, MAC: f.auth(2, good)[0]}, true},
		{"a flipped MAC", wire.RelayedVote{Envelope: good, MAC: flipped}, false},
		{"the MAC meant for another member", wire.RelayedVote{Envelope: good, MAC: f.auth(2, good)[1]}, false},
		{"another vote's MAC", wire.RelayedVote{Envelope: other, MAC: f.auth(2, good)[0]}, false},
		{"no MAC", wire.RelayedVote{Envelope: other}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := nd.macFailures.Load()
			in, err := nd.checkRelayFrame(f.bundle(c.rv), 1)
			if err != nil {
				t.Fatal(err)
			}
			if !c.ok {
				if in != nil {
					t.Fatalf("accepted: %+v", in)
				}
				if nd.macFailures.Load() != before+1 {
					t.Fatal("the MAC failure was not counted")
				}
				return
			}
			b, ok := in.(*bundleIn)
			if !ok || len(b.votes) != 1 {
				t.Fatalf("got %#v", in)
			}
			v := b.votes[0]
			if int(v.env.Signer) != 2 || !v.unverified || v.auth != nil {
				t.Fatalf("vote of %d, unverified %v, auth %v", v.env.Signer, v.unverified, v.auth != nil)
			}
		})
	}
	// Our own vote coming back is skipped, the rest of the bundle kept.
	own := f.vote(0, 1)
	in, err := nd.checkRelayFrame(f.bundle(wire.RelayedVote{Envelope: own},
		wire.RelayedVote{Envelope: other, MAC: f.auth(3, other)[0]}), 1)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := in.(*bundleIn); !ok || len(b.votes) != 1 || b.votes[0].env.Signer != 3 {
		t.Fatalf("got %#v", in)
	}
}

func TestAuthVoteChecks(t *testing.T) {
	f := newRelayFixture(t)
	nd := f.nd
	raw := f.vote(2, 7)
	frame := func(macs []wire.MAC) []byte {
		b, err := (&wire.AuthVote{Envelope: raw, MACs: macs}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	in, err := nd.checkRelayFrame(frame(f.auth(2, raw)), 2)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := in.(*voteIn)
	if !ok || len(v.auth) != nd.n || !v.unverified || v.stale {
		t.Fatalf("got %#v", in)
	}
	// Only its signer may hand us a vote to relay: the channel is what authenticates it.
	if _, err := nd.checkRelayFrame(frame(f.auth(2, raw)), 3); !errors.Is(err, errSender) {
		t.Fatalf("vote of 2 from 3: %v", err)
	}
	if _, err := nd.checkRelayFrame(frame(f.auth(2, raw)[:3]), 2); !errors.Is(err, errEnvelope) {
		t.Fatalf("three MACs for four members: %v", err)
	}
	if _, err := nd.checkRelayFrame([]byte{wire.RelayMarker, 9, 1}, 2); err == nil {
		t.Fatal("unknown relay kind accepted")
	}
}

// TestRelayIntakeAndFlush: the leader holds votes until a quorum of their step is known (its own
// vote included), then forwards them; a later vote waits for the tick.
func TestRelayIntakeAndFlush(t *testing.T) {
	nodes := relayNodes(t)
	leader := nodes[0].leaderOf(0, 0)
	nd := nodes[leader]
	testNodes[nd] = nodes
	f := &relayFixture{t: t, nodes: nodes, nd: nd}
	var voters []int
	for i := range 4 {
		if i != leader {
			voters = append(voters, i)
		}
	}
	take := func(voter int) {
		raw := f.vote(voter, 1)
		frame, err := (&wire.AuthVote{Envelope: raw, MACs: f.auth(voter, raw)}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		in, err := nd.checkRelayFrame(frame, voter)
		if err != nil {
			t.Fatal(err)
		}
		nd.handle(t.Context(), in)
		nd.flushRelay(false)
	}
	pending := func() int {
		return nd.loop.relay.PendingVotes(relay.Group{Height: 0, Type: 1})
	}
	// Quorum of 4 is 3: two votes are not enough.
	take(voters[0])
	take(voters[1])
	if pending() != 2 || nd.loop.relay.Stats.BundlesOut != 0 {
		t.Fatalf("before the quorum: %d pending, %d bundles sent", pending(), nd.loop.relay.Stats.BundlesOut)
	}
	take(voters[2])
	if pending() != 0 || nd.loop.relay.Stats.BundlesOut != 3 {
		t.Fatalf("at the quorum: %d pending, %d bundles sent", pending(), nd.loop.relay.Stats.BundlesOut)
	}
	// Each receiver gets the votes it did not cast: 3 votes, 2 per receiver.
	if nd.loop.relay.Stats.VotesOut != 6 {
		t.Fatalf("%d votes forwarded, want 6", nd.loop.relay.Stats.VotesOut)
	}
	// A duplicate is forwarded (an equivocation must reach the others), but at the next tick only.
	take(voters[0])
	if pending() != 1 || nd.loop.relay.Stats.BundlesOut != 3 {
		t.Fatalf("late vote: %d pending, %d bundles", pending(), nd.loop.relay.Stats.BundlesOut)
	}
	nd.flushRelay(true)
	if pending() != 0 || nd.loop.relay.Stats.BundlesOut != 5 {
		t.Fatalf("after the tick: %d pending, %d bundles", pending(), nd.loop.relay.Stats.BundlesOut)
	}
	// More than relayVotesPerVoter votes of one voter are not forwarded.
	take(voters[0])
	if pending() != 0 {
		t.Fatalf("a third vote of one voter was queued")
	}
}

// FuzzCheckRelayFrame: arbitrary relay frames from any member never panic, and an error never comes
// with a message.
func FuzzCheckRelayFrame(f *testing.F) {
	nodes := relayNodes(f)
	nd := nodes[0]
	testNodes[nd] = nodes
	raw := signed(f, nd, 2, &wire.Vote{Run: nd.run, Type: wire.Prevote}, false)
	a, _ := (&wire.AuthVote{Envelope: raw, MACs: nodes[2].pairs.Authenticator(envelopeDigest(raw))}).Marshal()
	b, _ := (&wire.VoteBundle{Votes: []wire.RelayedVote{{Envelope: raw, MAC: nodes[2].pairs.Authenticator(envelopeDigest(raw))[0]}}}).Marshal()
	f.Add(a, 2)
	f.Add(b, 1)
	f.Add([]byte{wire.RelayMarker}, 1)
	f.Fuzz(func(t *testing.T, data []byte, sender int) {
		if sender < 0 || sender >= nd.n {
			sender = 1
		}
		in, err := nd.checkRelayFrame(data, sender)
		if err != nil && in != nil {
			t.Fatalf("message %v with error %v", in, err)
		}
	})
}

// TestRelayByzantineLeaders runs 6 honest peers and one Byzantine leader that drops or tampers with
// the votes it should relay (7 = relayMinMembers peers): the honest peers keep agreeing and deciding
// (the fallbacks of relay.go), and tampered votes are dropped as MAC failures, never counted.
func TestRelayByzantineLeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on four in-memory peers")
	}
	for _, atk := range []string{"", byzantine.AttackDropRelay, byzantine.AttackTamperRelay} {
		name := atk
		if name == "" {
			name = "honest"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const rounds, n, byz = 12, relayMinMembers, relayMinMembers - 1
				attacks := map[int]string{}
				if atk != "" {
					attacks[byz] = atk
				}
				spec := smallSpec(0, "none")
				spec.Members = n
				c := runCluster(t, spec, attacks, rounds)
				var bundles, failures, fallbacks, handovers uint64
				for i := range byz {
					s := c.nodes[i].Status()
					if s.Round < rounds {
						t.Fatalf("honest member %d stopped at round %d", i, s.Round)
					}
					handovers += s.RelayHandoversOut
					bundles += s.RelayBundlesIn
					failures += s.RelayMACFailures
					fallbacks += s.RelayFallbacks
				}
				for r := uint64(1); r <= rounds; r++ {
					want, ok := c.digests[0][r]
					for i := 1; i < byz; i++ {
						if got, ok2 := c.digests[i][r]; ok && ok2 && got != want {
							t.Errorf("round %d: members 0 and %d disagree", r, i)
						}
					}
				}
				t.Logf("honest peers: %d bundles in, %d MAC failures, %d fallbacks, %d handovers", bundles, failures, fallbacks, handovers)
				if bundles == 0 {
					t.Error("no vote was relayed")
				}
				switch atk {
				case "":
					if failures != 0 {
						t.Errorf("%d MAC failures among honest peers", failures)
					}
					if handovers == 0 {
						t.Error("no late vote was handed over to the next leader")
					}
				case byzantine.AttackTamperRelay:
					if failures == 0 {
						t.Error("tampered votes were not noticed")
					}
				}
				if b := c.nodes[0].Status().Blame; atk == "" && len(b) > 0 {
					t.Errorf("honest members blamed: %v", b)
				}
			})
		})
	}
}

// TestRelayWhenToUse: a vote goes through the leader only in attempt 0, after the leader's proposal
// arrived, with enough members, unless configured otherwise; the leader's own vote waits in its
// bundle; everything else goes to everyone.
func TestRelayWhenToUse(t *testing.T) {
	nodes := relayNodes(t)
	leader := nodes[0].leaderOf(0, 0)
	voter := nodes[(leader+1)%4]
	f := &relayFixture{t: t, nodes: nodes, nd: voter}
	testNodes[voter] = nodes
	vote := func(round uint32) consensus.Vote {
		return consensus.Vote{Type: consensus.Prevote, Height: 0, Round: round, Value: consensus.ValueID{1}, Voter: voter.self}
	}
	// Prevotes of height h go through the proposer of (h, 0), precommits through that of (h+1, 0).
	for h := range uint64(5) {
		pv := consensus.Vote{Type: consensus.Prevote, Height: h}
		pc := consensus.Vote{Type: consensus.Precommit, Height: h}
		if voter.relayLeader(pv) != voter.leaderOf(h, 0) || voter.relayLeader(pc) != voter.leaderOf(h+1, 0) {
			t.Fatalf("height %d: relay leaders %d and %d, want %d and %d", h, voter.relayLeader(pv), voter.relayLeader(pc),
				voter.leaderOf(h, 0), voter.leaderOf(h+1, 0))
		}
	}
	raw := f.vote(voter.self, 1)
	if voter.sendViaLeader(vote(0), raw) {
		t.Fatal("relayed before the leader's proposal arrived")
	}
	voter.noteLeaderProposal(0, 0)
	if voter.sendViaLeader(vote(1), raw) {
		t.Fatal("relayed in attempt 1")
	}
	voter.cfg.DirectVotes = true
	if voter.sendViaLeader(vote(0), raw) {
		t.Fatal("relayed with DirectVotes")
	}
	voter.cfg.DirectVotes = false
	voter.relayMin = 5
	if voter.sendViaLeader(vote(0), raw) {
		t.Fatal("relayed among fewer than relayMin members")
	}
	voter.relayMin = 0
	if !voter.sendViaLeader(vote(0), raw) {
		t.Fatal("not relayed in attempt 0 after the proposal")
	}
	if !voter.loop.relay.Awaiting(vote(0)) {
		t.Fatal("a relayed vote is not awaiting progress")
	}

	// The leader's own vote waits for its step's quorum in the bundle, not for the tick.
	ld := nodes[leader]
	own := consensus.Vote{Type: consensus.Prevote, Height: 0, Value: consensus.ValueID{1}, Voter: leader}
	if !ld.relayOwn(own, f.vote(leader, 1)) {
		t.Fatal("the leader's own vote is not bundled")
	}
	if !ld.loop.relay.Due().IsZero() {
		t.Fatal("the leader's own vote started the one-tick clock")
	}
	if !ld.loop.relay.Awaiting(own) {
		t.Fatal("the leader's own vote has no fallback")
	}
}

// TestRepeatTooSoon: consensus' repeats of a height entered less than a rebroadcast period ago are
// skipped; first sends, repeats of an older height and repeats of other heights are not.
func TestRepeatTooSoon(t *testing.T) {
	nodes := relayNodes(t)
	nd := nodes[0]
	m := consensus.VoteMessage(consensus.Vote{Type: consensus.Prevote, Height: 0})
	repeat := m
	repeat.Rebroadcast = true
	nd.loop.lastCommit, nd.loop.ticks = 0, rebroadcastTicks-1
	if nd.repeatTooSoon(m) {
		t.Error("a first send was skipped")
	}
	if !nd.repeatTooSoon(repeat) {
		t.Error("a repeat of a young height was sent")
	}
	nd.loop.ticks = rebroadcastTicks
	if nd.repeatTooSoon(repeat) {
		t.Error("a repeat of a height as old as the period was skipped")
	}
}
