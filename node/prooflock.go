package node

import (
	"slices"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p/wire"
)

// The proof of lock across restarts. consensus.PersistentState keeps the others' prevotes that prove
// this member's valid value (ProofOfLock), and a restarted machine relays them: the members whose
// prevotes made the proof may have lost them, and without it the others never prevote a re-proposal
// of the locked value (the fault-schedule checker found heights that stalled for good so). Relaying
// needs the signed envelopes, which consensus does not hold: the node keeps them in the journal
// beside the consensus record (storage.SaveProofOfLock) whenever the proof changes, and puts them
// back in the vote store at a restart — unchecked, so their signatures are checked before they are
// relayed, like any vote's.

// saveProofOfLock writes the envelopes of ps's proof of lock when it differs from the one saved last.
func (nd *Node) saveProofOfLock(ps *consensus.PersistentState) error {
	if slices.Equal(ps.ProofOfLock, nd.loop.savedProof) {
		return nil
	}
	envs := make([][]byte, 0, len(ps.ProofOfLock))
	for _, v := range ps.ProofOfLock {
		if raw, _, ok := nd.loop.votes.Get(v); ok {
			envs = append(envs, raw)
		}
	}
	if err := nd.store.SaveProofOfLock(envs); err != nil {
		return err
	}
	nd.loop.savedProof = slices.Clone(ps.ProofOfLock)
	return nil
}

// restoreProofOfLock puts the saved envelopes of ps's proof of lock back in the vote store.
func (nd *Node) restoreProofOfLock(ps *consensus.PersistentState, envs [][]byte) {
	if ps == nil {
		return
	}
	for _, raw := range envs {
		var env wire.Envelope
		if err := wire.Unmarshal(raw, &env, nd.lim); err != nil {
			continue
		}
		m, err := env.Open(nd.lim)
		if err != nil {
			continue
		}
		v, ok := m.(*wire.Vote)
		if !ok {
			continue
		}
		cv := consensus.Vote{Type: consensus.VoteType(v.Type), Height: v.Height, Round: v.Round,
			Value: consensus.ValueID(v.Value), Voter: int(env.Signer)}
		if slices.Contains(ps.ProofOfLock, cv) {
			nd.loop.votes.Put(cv, raw, true) // checked before it is relayed (checkedVote)
		}
	}
	nd.loop.savedProof = slices.Clone(ps.ProofOfLock)
}
