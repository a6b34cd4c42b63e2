package node

import (
	"errors"
	"fmt"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/storage"
	"github.com/byzpp/byzpp/p2p/wire"
)

// ErrCorrupt is wrapped when a persisted file fails its checksum (it is storage.ErrCorrupt).
var ErrCorrupt = storage.ErrCorrupt

// restore returns the state to start from and the consensus state to resume, from StateDir. A
// persisted state that fails its checks is never loaded: a volunteer's peer should not refuse to start
// because its disk flipped a bit, and every decided state can be fetched again, certified, from the
// other members. So corruption is logged, the damaged files are quarantined, and the peer starts
// from the genesis state and catches up (sync.go, catchup.go). Only I/O errors stop New.
//
// What is lost with the damaged records is the record of this peer's own votes and lock at the
// height it was deciding (consensus.PersistentState). A peer that rejoins that same height at once
// could sign a vote contradicting one it forgot (TestCrashAtRoundSteps shows a restart without that
// record does), so a peer restored from a damaged StateDir sits out the heights it may have voted at
// (amnesia.go).
func (nd *Node) restore() (*method.State, *consensus.PersistentState, error) {
	fresh := method.NewState(nd.setup.X0)
	if nd.store == nil {
		return fresh, nil, nil
	}
	st, ps, err := nd.restoreFrom(fresh)
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrBadState) {
		moved, qerr := nd.store.Quarantine()
		if qerr != nil {
			return nil, nil, fmt.Errorf("%w (quarantining it: %w)", err, qerr)
		}
		nd.log.Error("persisted state is corrupt: not loaded; starting from the genesis state and refetching from peers",
			"err", err, "quarantined", moved)
		nd.serving.Restored(nil)
		nd.mayHaveForgotten = true
		return fresh, nil, nil
	}
	return st, ps, err
}

// restoreFrom loads and checks what StateDir holds; errors wrapping ErrCorrupt or ErrBadState mean
// the files cannot be trusted.
func (nd *Node) restoreFrom(fresh *method.State) (*method.State, *consensus.PersistentState, error) {
	st := fresh
	l, err := nd.store.Load()
	if err != nil {
		return nil, nil, err
	}
	raw, craw, dropped := l.State, l.Consensus, l.Dropped
	switch {
	case l.MayHaveLost:
		// The machine restarted since this journal was opened and it was not closed cleanly: what was
		// written after the last sync, votes it sent among it, may be gone (storage/durability.go).
		nd.log.Warn("the machine restarted since this peer last ran and it did not stop cleanly: "+
			"sitting out the heights it may have voted at", "dropped_bytes", dropped)
		nd.mayHaveForgotten = true
	case dropped > 0 && l.Torn:
		// A crash mid-append: that record was never synced, so nothing depending on it was sent.
		nd.log.Info("journal ends in a torn record (a crash while writing); using the records before it",
			"dropped_bytes", dropped)
	case dropped > 0:
		// Damage to records that may have been synced: only the intact records before it are used,
		// the peer refetches what it lacks, and it may have forgotten votes it sent (amnesia.go).
		nd.log.Error("journal is damaged; using the intact records before the damage",
			"dropped_bytes", dropped)
		nd.mayHaveForgotten = true
	}
	if raw != nil {
		var resp wire.StateResponse
		if err := wire.Unmarshal(raw, &resp, nd.lim); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, storage.StateFile, err)
		}
		// The decision was stored with a candidate certificate (lazycert.go): certify it now.
		cert, err := nd.serving.Certify(resp.Cert)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: persisted decision: %w", ErrBadState, err)
		}
		resp.Cert = cert
		if err := nd.verifyState(&resp); err != nil {
			return nil, nil, fmt.Errorf("persisted decision: %w", err)
		}
		st = &method.State{Round: resp.Round, X: resp.X, G: resp.G}
		latest, err := wire.Marshal(&resp)
		if err != nil {
			return nil, nil, err
		}
		nd.serving.Restored(latest)
	}
	if craw == nil {
		return st, nil, nil
	}
	ps, err := consensus.DecodePersistentState(craw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, storage.ConsensusFile, err)
	}
	if ps.Height > st.Round {
		// The record of votes at ps.Height outlived the decided state before it (a failed or lost
		// write): this peer signed at ps.Height and cannot resume there from an older state.
		nd.log.Warn("persisted consensus state is ahead of the persisted decided state: sitting out the heights it voted at",
			"consensus", ps.Height, "state", st.Round)
		nd.mayHaveForgotten = true
		nd.votedThrough = ps.Height
		return st, nil, nil
	}
	if ps.Height != st.Round {
		// The consensus state belongs to a height already decided (or, after a crash between the two
		// writes, the decision of st.Round is not applied yet: the peers re-serve it); start afresh.
		nd.log.Info("persisted consensus state is for another height; starting the height afresh",
			"consensus", ps.Height, "state", st.Round)
		return st, nil, nil
	}
	nd.log.Info("restored", "round", st.Round, "attempt", ps.Round)
	nd.restoredProof = l.ProofOfLock // prooflock.go
	return st, ps, nil
}
