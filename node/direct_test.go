package node

import (
	"errors"
	"testing"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// signed returns member's signed envelope of body; corrupt flips a signature bit.
func signed(t testing.TB, nd *Node, member int, body wire.Message, corrupt bool) []byte {
	t.Helper()
	env, err := wire.SignMessage(nodeKey(t, nd, member), uint32(member), body)
	if err != nil {
		t.Fatal(err)
	}
	if corrupt {
		env.Sig = append([]byte{}, env.Sig...)
		env.Sig[7] ^= 1
	}
	raw, err := wire.Marshal(&env)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// testNodes and nodeKey give every test node's private key by member index.
var testNodes = map[*Node][]*Node{}

func nodeKey(t testing.TB, nd *Node, member int) crypto.PrivKey {
	t.Helper()
	return testNodes[nd][member].cfg.Key
}

func TestCheckDirectVerdicts(t *testing.T) {
	nodes := pairOfNodes(t, 4, nil)
	nd := nodes[0]
	testNodes[nd] = nodes
	vote := func(value byte) *wire.Vote {
		return &wire.Vote{Run: nd.run, Type: wire.Prevote, Height: 0, Round: 0, Value: wire.Digest{value}}
	}
	prop := &wire.Proposal{Run: nd.run, Height: 0, Round: 0, POLRound: -1}
	leader := nd.consensusConfig().Proposer(0, 0)
	for _, tc := range []struct {
		name       string
		raw        []byte
		sender     int
		err        error
		unverified bool
	}{
		{"own vote, good signature: taken unchecked", signed(t, nd, 1, vote(1), false), 1, nil, true},
		{"own vote, bad signature: still unchecked", signed(t, nd, 2, vote(1), true), 2, nil, true},
		{"relayed vote, good signature: checked", signed(t, nd, 3, vote(1), false), 1, nil, false},
		{"relayed vote, bad signature: refused", signed(t, nd, 3, vote(2), true), 1, wire.ErrSignature, false},
		// A proposal's signature is never used after arrival (checkConsensusFrom): its proposer's
		// channel is proof enough; from anyone else, it is checked.
		{"proposal, bad signature, from its signer: taken unchecked", signed(t, nd, leader, prop, true), leader, nil, false},
		{"proposal, bad signature, from another member: refused", signed(t, nd, leader, prop, true), (leader + 1) % 4, wire.ErrSignature, false},
		{"garbage", []byte{1, 2, 3}, 1, errEnvelope, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := nd.checkDirect(tc.raw, tc.sender)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if v, ok := in.(*voteIn); ok && v.unverified != tc.unverified {
				t.Fatalf("unverified = %v, want %v", v.unverified, tc.unverified)
			}
		})
	}
	// A copy relayed by someone else of bytes its signer sent directly is accepted just as unchecked:
	// the signature is not checked twice (and still will be before any certificate or relay).
	raw := signed(t, nd, 2, vote(9), true)
	if _, err := nd.checkDirect(raw, 2); err != nil {
		t.Fatal(err)
	}
	in, err := nd.checkDirect(raw, 1)
	if err != nil || !in.(*voteIn).unverified {
		t.Fatalf("relayed copy: %v, %+v", err, in)
	}
}

func TestCheckedVoteDropsABadSignature(t *testing.T) {
	nodes := pairOfNodes(t, 4, nil)
	nd := nodes[0]
	testNodes[nd] = nodes
	for _, tc := range []struct {
		corrupt bool
		want    bool
	}{{false, true}, {true, false}} {
		voter := 2
		if tc.corrupt {
			voter = 3
		}
		body := &wire.Vote{Run: nd.run, Type: wire.Precommit, Height: 0, Round: 0, Value: wire.Digest{4}}
		raw := signed(t, nd, voter, body, tc.corrupt)
		k := voteKey{voter: voter, vote: consensus.Vote{Type: consensus.Precommit, Value: consensus.ValueID{4}, Voter: voter}}
		nd.loop.votes.Put(k.vote, raw, true)
		got, ok := nd.checkedVote(k)
		if ok != tc.want || (ok && string(got) != string(raw)) {
			t.Fatalf("corrupt=%v: ok=%v", tc.corrupt, ok)
		}
		if _, unverified, _ := nd.loop.votes.Get(k.vote); unverified {
			t.Fatalf("corrupt=%v: still marked unverified", tc.corrupt)
		}
		if kept := nd.loop.votes.Has(k.vote); kept != tc.want {
			t.Fatalf("corrupt=%v: kept=%v", tc.corrupt, kept)
		}
		nd.mu.Lock()
		faulty := nd.acct.Faulty(voter)
		nd.mu.Unlock()
		if faulty != tc.corrupt {
			t.Fatalf("corrupt=%v: faulty=%v", tc.corrupt, faulty)
		}
	}
}

// FuzzCheckDirect: arbitrary bytes from any member never panic and yield a message exactly when
// there is no error.
func FuzzCheckDirect(f *testing.F) {
	nodes := pairOfNodes(f, 4, nil)
	nd := nodes[0]
	testNodes[nd] = nodes
	f.Add(signed(f, nd, 1, &wire.Vote{Run: nd.run, Type: wire.Prevote}, false), 1)
	f.Add(signed(f, nd, 2, &wire.Vote{Run: nd.run, Type: wire.Precommit}, true), 1)
	f.Add([]byte{}, 3)
	f.Fuzz(func(t *testing.T, data []byte, sender int) {
		if sender < 0 || sender >= nd.n {
			sender = 1
		}
		in, err := nd.checkDirect(data, sender)
		if (err == nil) != (in != nil) {
			t.Fatalf("message %v with error %v", in, err)
		}
	})
}
