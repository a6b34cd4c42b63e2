package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/byzpp/byzpp/algo/model"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/modelfile"
	"github.com/byzpp/byzpp/node/roster"
	"github.com/byzpp/byzpp/node/storage"
	"github.com/byzpp/byzpp/p2p/wire"
)

// The end of a run. The genesis fixes the run's length (Spec.Rounds). Once a member holds the
// certified state of the last round — decided here, adopted from a peer, or restored — the Node
// stops deciding and only serves (advanceTo), and Peer.Run, as EndOfRun says, writes the final model
// (package modelfile), keeps serving it for a grace period and returns ErrRunFinished.
//
// Why a grace period rather than stopping at once: a member that is behind (slow, restarted,
// partitioned) can only finish by fetching the final certified state from a peer that still serves
// it, and a state is only served by a running Node. If every honest member stopped the moment it
// decided the last round, a member one round behind could be stranded forever. Honest members
// finish within a few rounds of each other, so a few tens of seconds cover the normal case; a
// member restarted after everyone left can still export what it has (`peer export`), and an
// operator who wants a peer to stay up for stragglers uses --serve-after-end.

// ErrRunFinished is returned by Peer.Run once this peer held the run's final certified state and
// its grace period (EndOfRun.Linger) is over: the run is complete, not failed.
var ErrRunFinished = errors.New("node: the run is finished")

// EndOfRun says what a Peer does once it holds the run's final certified state.
type EndOfRun struct {
	// ModelPath, if set, is where the final model is written (modelfile: PATH.npy and PATH.json).
	ModelPath string
	// Linger is how long the peer keeps serving the final state to laggards before Run returns
	// ErrRunFinished; negative: serve until the context ends (Run then returns nil).
	Linger time.Duration
}

// SetEndOfRun sets what Run does at the end of the run (by default: write nothing and serve until
// the context ends). Call it before Run.
func (p *Peer) SetEndOfRun(e EndOfRun) { p.end = e }

// nodeEnd is a Node's end-of-run bookkeeping.
type nodeEnd struct {
	mu     sync.Mutex
	closed sync.Once
	ended  chan struct{} // closed once the Node holds the final certified state
	// The held-out set's scorer (nil without one), loaded on the first recorded point.
	testLoaded bool
	test       *model.Scorer
}

// markEnded records that this Node holds the run's final state (called by the event loop, or by
// New for a state restored at the end).
func (nd *Node) markEnded() { nd.end.closed.Do(func() { close(nd.end.channel()) }) }

// Ended is closed once this Node holds the run's final certified state.
func (nd *Node) Ended() <-chan struct{} { return nd.end.channel() }

func (e *nodeEnd) channel() chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended == nil {
		e.ended = make(chan struct{})
	}
	return e.ended
}

// Model returns the latest certified decided state this Node serves, as a model file (the final
// model once the run ended). It is safe from any goroutine.
func (nd *Node) Model() (*modelfile.Model, error) {
	raw, err := nd.serving.Latest() // certified on first use (lazycert.go)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, ErrNoState
	}
	var s wire.StateResponse
	if err := wire.Unmarshal(raw, &s, nd.lim); err != nil {
		return nil, err
	}
	return modelfile.FromState(nd.genesis, &s, nd.chain.At(s.Height).Members)
}

// Model returns the current Node's model (see Node.Model); ErrNoState while observing.
func (p *Peer) Model() (*modelfile.Model, error) {
	nd := p.Node()
	if nd == nil {
		return nil, ErrNoState
	}
	return nd.Model()
}

// watchEnd runs beside a Node's Run: once the Node holds the final state it writes the model,
// waits Linger and calls stop. It returns ErrRunFinished then (or the model's write error), nil if
// ctx ended first.
func (p *Peer) watchEnd(ctx context.Context, nd *Node, stop context.CancelFunc) error {
	select {
	case <-ctx.Done():
		return nil
	case <-nd.Ended():
	}
	log := nd.log
	var werr error
	m, err := nd.Model()
	if err == nil {
		_, err = modelfile.Verify(p.cfg.Genesis, m) // what anyone will check: check it before writing
	}
	switch {
	case err != nil:
		werr = fmt.Errorf("%w: the final model: %w", ErrFatal, err)
		log.Error("the run is finished but its final model could not be made", "err", err)
	case p.end.ModelPath != "":
		npy, js, err := m.Write(p.end.ModelPath)
		if err != nil {
			werr = fmt.Errorf("%w: writing the final model: %w", ErrFatal, err)
			log.Error("writing the final model", "err", err)
			break
		}
		log.Info("the run is finished: final model written", "round", m.Meta.Round, "digest", m.Meta.StateDigest[:12],
			"weights", npy, "sidecar", js, "test_accuracy", nd.Status().TestAccuracy)
	default:
		log.Info("the run is finished", "round", m.Meta.Round, "digest", m.Meta.StateDigest[:12])
	}
	if p.end.Linger < 0 {
		log.Info("serving the final state until stopped")
		<-ctx.Done()
		return werr
	}
	if p.end.Linger > 0 {
		log.Info("serving the final state to laggards before stopping", "for", p.end.Linger)
	}
	t := time.NewTimer(p.end.Linger)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return werr
	case <-t.C:
	}
	stop()
	if werr != nil {
		return werr
	}
	return ErrRunFinished
}

// ExportState reads the last decided state persisted in a (stopped) peer's state directory and
// returns it as a model file, checked against the genesis (modelfile.Verify): only a state with a
// valid certificate of the run is exported.
func ExportState(g *genesis.Genesis, stateDir string) (*modelfile.Model, error) {
	l, err := storage.Open(stateDir).Load()
	if err != nil {
		return nil, err
	}
	if l.State == nil {
		return nil, fmt.Errorf("%w in %s", ErrNoState, stateDir)
	}
	// The record's size bounds the dimension; the genesis bounds the members.
	lim := wire.LimitsFor(uint32(min(len(l.State)/8+1, math.MaxUint32)), uint32(max(len(g.Members), g.Capacity())))
	var s wire.StateResponse
	if err := wire.Unmarshal(l.State, &s, lim); err != nil {
		return nil, fmt.Errorf("%w: the persisted state: %w", ErrCorrupt, err)
	}
	run, err := g.RunID()
	if err != nil {
		return nil, err
	}
	if s.Run != run {
		return nil, fmt.Errorf("%w: %s holds run %s, the genesis is run %s", ErrBadState, stateDir, s.Run, wire.RunID(run))
	}
	members, err := membersAt(g, &s)
	if err != nil {
		return nil, err
	}
	m, err := modelfile.FromState(g, &s, members)
	if err != nil {
		return nil, err
	}
	if _, err := modelfile.Verify(g, m); err != nil {
		return nil, err
	}
	return m, nil
}

// membersAt is the member list in force at s's height, from the genesis and the changes s proves.
func membersAt(g *genesis.Genesis, s *wire.StateResponse) ([]string, error) {
	run, err := g.RunID()
	if err != nil {
		return nil, err
	}
	chain := roster.New(run, g.Members, g.Capacity())
	if _, err := chain.Extend(s.Changes); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadState, err)
	}
	return chain.At(s.Height).Members, nil
}

// testScore is the held-out loss and accuracy of x (NaN, NaN when the spec has no test set): the
// numbers the simulator records at the same point (sim.Runner.Score uses the same scorer).
func (nd *Node) testScore(x []float64) (loss, accuracy float64) {
	if !nd.end.testLoaded {
		nd.end.testLoaded = true
		d, err := nd.cache.LoadTest(&nd.setup.Spec, nd.setup.Dataset, nd.setup.Model)
		if err != nil {
			nd.log.Warn("no held-out scores: loading the test set", "err", err)
		} else if d != nil {
			nd.end.test = model.NewScorer(nd.setup.Model, d)
		}
	}
	if nd.end.test == nil {
		return math.NaN(), math.NaN()
	}
	return nd.end.test.Score(x)
}
