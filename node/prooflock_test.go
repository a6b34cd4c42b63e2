package node

import (
	"testing"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/storage"
	"github.com/byzpp/byzpp/node/votestore"
	"github.com/byzpp/byzpp/p2p/wire"
)

// TestProofOfLockSurvivesRestart: the envelopes of the prevotes behind a valid value are saved when the
// proof changes and come back, unchecked, in the vote store of a restarted peer; anything not in the
// restored proof stays out.
func TestProofOfLockSurvivesRestart(t *testing.T) {
	nodes := pairOfNodes(t, 4, nil)
	nd := nodes[0]
	testNodes[nd] = nodes
	dir := t.TempDir()
	nd.store = storage.Open(dir)
	nd.loop.init()
	value := wire.Digest{5}
	var proof []consensus.Vote
	for _, voter := range []int{1, 2} {
		raw := signed(t, nd, voter, &wire.Vote{Run: nd.run, Type: wire.Prevote, Height: 0, Round: 1, Value: value}, false)
		cv := consensus.Vote{Type: consensus.Prevote, Height: 0, Round: 1, Value: consensus.ValueID(value), Voter: voter}
		nd.loop.votes.Put(cv, raw, false)
		proof = append(proof, cv)
	}
	ps := &consensus.PersistentState{Height: 0, Round: 1, Step: consensus.StepPrecommit, LockedRound: -1,
		ValidValue: consensus.ValueID(value), ValidRound: 1, ProofOfLock: proof}
	if err := nd.saveProofOfLock(ps); err != nil {
		t.Fatal(err)
	}
	nd.store.Close(true)

	l, err := storage.Open(dir).Load()
	if err != nil || len(l.ProofOfLock) != 2 {
		t.Fatalf("loaded %d envelopes, %v", len(l.ProofOfLock), err)
	}
	nd.loop.votes = votestore.New(votestore.PerVoter) // the restarted peer's empty store
	short := *ps
	short.ProofOfLock = proof[:1] // only member 1's prevote is in the restored proof
	nd.restoreProofOfLock(&short, l.ProofOfLock)
	if _, unverified, ok := nd.loop.votes.Get(proof[0]); !ok || !unverified {
		t.Fatalf("member 1's prevote: held %v, unverified %v", ok, unverified)
	}
	if nd.loop.votes.Has(proof[1]) {
		t.Fatal("a prevote outside the restored proof came back")
	}
	if raw, ok := nd.checkedVote(voteKey{voter: 1, vote: proof[0]}); !ok || raw == nil {
		t.Fatal("the restored prevote does not check out for relaying")
	}
}
