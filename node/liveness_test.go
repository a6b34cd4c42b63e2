package node

import (
	"errors"
	"github.com/byzpp/byzpp/node/amnesia"
	"github.com/byzpp/byzpp/node/byzantine"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/votestore"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Regression tests of the three wiring bugs of the liveness review and of the vote flood. Each
// failed before its fix.

// TestFaultyMembersVotesCount: a member this peer caught equivocating still has its votes and
// proposals counted on every path (only its round messages are dropped). Dropping them let a
// Byzantine member choose which honest peers ignore its votes and split their views: a lock that
// the others could never verify stalled a height for good.
func TestFaultyMembersVotesCount(t *testing.T) {
	nodes := pairOfNodes(t, 4, nil)
	nd := nodes[0]
	testNodes[nd] = nodes
	leader := nd.consensusConfig().Proposer(0, 0)
	if leader == nd.self {
		leader = nd.consensusConfig().Proposer(0, 1)
	}
	round := uint32(0)
	if nd.consensusConfig().Proposer(0, 0) != leader {
		round = 1
	}
	bad := 2
	if bad == leader {
		bad = 3
	}
	nd.acct.MarkFaulty(bad)
	nd.acct.MarkFaulty(leader)
	vote := &wire.Vote{Run: nd.run, Type: wire.Prevote, Height: 0, Round: 0, Value: wire.Digest{1}}
	prop := &wire.Proposal{Run: nd.run, Height: 0, Round: round, POLRound: -1}
	for _, tc := range []struct {
		name   string
		raw    []byte
		sender int // -1: gossip
	}{
		{"vote over its own channel", signed(t, nd, bad, vote, false), bad},
		{"vote relayed by another member", signed(t, nd, bad, vote, false), 1},
		{"vote over gossip", signed(t, nd, bad, vote, false), -1},
		{"proposal from its proposer", signed(t, nd, leader, prop, false), leader},
		{"proposal over gossip", signed(t, nd, leader, prop, false), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.sender < 0 {
				_, err = nd.checkConsensus(tc.raw)
			} else {
				_, err = nd.checkDirect(tc.raw, tc.sender)
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
	// Its round messages, and only they, are dropped.
	author := sampledAuthor(t, nd, nodes)
	nd.acct.MarkFaulty(author.self)
	raw := signed(t, nd, author.self, byzantine.RoundBody(nodeEnv{author}, 0, nd.setup.Model.Dim()), false)
	if _, err := nd.checkDirect(raw, author.self); !errors.Is(err, errFaulty) {
		t.Fatalf("round message of a faulty member: %v, want errFaulty", err)
	}
}

// TestDecisionsAreCertified: a Byzantine member sends every vote with a bad signature over its own
// channels, where votes count before their signature is checked. Every decision an honest peer
// applies must come with a certificate that holds (before the fix, a decision counted with the bad
// precommit among exactly a quorum could never be certified: the peer could not serve its state, and
// a restart quarantined its StateDir).
func TestDecisionsAreCertified(t *testing.T) {
	skipShort(t)
	synctest.Test(t, func(t *testing.T) {
		const rounds, culprit = 25, 3
		var mu sync.Mutex
		var failures []error
		r := runNet(t, netPlan{spec: adversarialSpec(4, rounds), rounds: rounds,
			attacks: map[int]string{culprit: byzantine.AttackBadSigVotes},
			install: func(i, _ int, nd *Node) {
				if i == culprit {
					return
				}
				nd.hooks.afterDecided = func(h uint64) error {
					if _, err := nd.serving.Latest(); err != nil {
						mu.Lock()
						failures = append(failures, err)
						mu.Unlock()
					}
					return nil
				}
			}})
		r.checkHonest(t)
		for _, err := range failures {
			t.Errorf("a decided state cannot be served: %v", err)
		}
		for i, nd := range r.nodes {
			if i == culprit {
				continue
			}
			if _, err := nd.serving.Latest(); err != nil {
				t.Errorf("member %d cannot serve its last state: %v", i, err)
			}
		}
	})
}

// TestAmnesiaCoversFarHeights: a peer that lost its records (amnesia) and restarted far behind the
// others hears them only far beyond its window. When it then adopts the state of the height the
// others are at, it must not vote there: it may have voted there before the crash.
func TestAmnesiaCoversFarHeights(t *testing.T) {
	nodes := pairOfNodes(t, 4, nil)
	nd := nodes[0]
	testNodes[nd] = nodes
	nd.amnesia.Start(0, false) // as New does after a machine crash without a readable sign bound
	const far = 10             // beyond maxFutureHeights of round 0
	for _, voter := range []int{1, 2} {
		vote := &wire.Vote{Run: nd.run, Type: wire.Prevote, Height: far, Round: 0, Value: wire.Digest{1}}
		if _, err := nd.checkDirect(signed(t, nd, voter, vote, false), voter); !errors.Is(err, errFuture) {
			t.Fatalf("vote at height %d: %v, want errFuture", far, err)
		}
	}
	nd.amnesiaAdvance(far) // adopts the certified state of round far
	if !nd.abstains(consensus.Message{Kind: consensus.KindVote, Vote: consensus.Vote{Height: far, Voter: nd.self}}) {
		t.Fatalf("votes at height %d, which the others were at when it adopted their state (bound %d)", far, nd.amnesia.Through())
	}
}

// TestVoteFloodKeepsHonestVotes feeds a member's flood of validly signed votes for unused attempts
// through the real input path, then the honest precommits of the height: they must all be kept for
// the certificate (before the fix the flood filled the one shared cap and they were counted but
// dropped; no certificate could be built and the run halted for good).
func TestVoteFloodKeepsHonestVotes(t *testing.T) {
	nodes := pairOfNodes(t, 4, nil)
	nd := nodes[0]
	testNodes[nd] = nodes
	nd.loop.init()
	ctx := t.Context()
	feed := func(voter int, v *wire.Vote) {
		in, err := nd.checkDirect(signed(t, nd, voter, v, false), voter)
		if err != nil {
			t.Fatalf("vote of %d refused: %v", voter, err)
		}
		nd.handle(ctx, in)
	}
	for i := range 3000 {
		feed(3, &wire.Vote{Run: nd.run, Type: wire.VoteType(1 + i%2), Height: uint64(i % (maxFutureHeights + 1)),
			Round: uint32(1000 + i), Value: wire.Digest{byte(i), byte(i >> 8), 0xf1}})
	}
	value := wire.Digest{7}
	for _, voter := range []int{1, 2} {
		feed(voter, &wire.Vote{Run: nd.run, Type: wire.Precommit, Height: 0, Round: 0, Value: value})
	}
	for _, voter := range []int{1, 2} {
		v := consensus.Vote{Type: consensus.Precommit, Height: 0, Round: 0, Value: consensus.ValueID(value), Voter: voter}
		if !storedVote(nd, v) {
			t.Errorf("the precommit of member %d was not kept", voter)
		}
	}
}

func storedVote(nd *Node, v consensus.Vote) bool { return nd.loop.votes.Has(v) }

// TestVoteFloodDoesNotHalt: one member floods validly signed votes for attempts nobody uses (2,000 a
// second at the default tick). The honest members must keep deciding: every voter's votes are
// stored within its own allowance, so the flood never crowds out the honest precommits a
// certificate needs (before the fix one shared cap filled up and the run halted for good).
func TestVoteFloodDoesNotHalt(t *testing.T) {
	skipShort(t)
	synctest.Test(t, func(t *testing.T) {
		const rounds = 30
		r := runNet(t, netPlan{spec: adversarialSpec(4, rounds), rounds: rounds,
			attacks: map[int]string{3: byzantine.AttackVoteFlood}})
		r.checkHonest(t)
		for i, nd := range r.nodes {
			if i == 3 {
				continue
			}
			if got := nd.loop.votes.Len(); got > 4*votestore.PerVoter*(maxFutureHeights+1) {
				t.Errorf("member %d holds %d votes", i, got)
			}
			// Decided itself, not merely adopted from a peer (the flooder serves honest states: before
			// the fix, the honest members followed it by state sync alone).
			if nd.loop.decided < rounds-2 {
				t.Errorf("member %d decided %d of %d rounds itself", i, nd.loop.decided, rounds)
			}
		}
		// The flooder is named and cut off (abuse.go).
		if r.blame(3, blameFlood) == 0 {
			t.Error("the flooder was not named for flooding")
		}
		var cut uint64
		for i, nd := range r.nodes {
			if i != 3 {
				cut += nd.acct.CutOffs()
			}
		}
		if cut == 0 {
			t.Error("no honest member cut the flooder off")
		}
	})
}

// TestAmnesiaAtSignBound: amnesia with a readable sign bound (storage.TestSignBound) sits out exactly
// the heights up to it.
func TestAmnesiaAtSignBound(t *testing.T) {
	var a amnesia.Guard
	a.Start(132, true)
	if !a.Active() || a.Unfixed() || a.Through() != 132 || !a.Abstains(132) || a.Abstains(133) {
		t.Fatalf("amnesia %+v", a)
	}
}
