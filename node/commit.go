package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/p2p/wire"
)

// apply commits a decision of the current height: it re-derives (or looks up) the decided value,
// builds the certificate from the precommit envelopes, persists state + certificate, and starts the
// next height. A decision whose messages are missing waits for them; one whose value cannot be derived
// at all is left to state sync.
func (nd *Node) apply(ctx context.Context, d consensus.Decision) {
	if d.Height != nd.eng.Round() {
		return
	}
	content := nd.loop.values[d.Value]
	c, ok := nd.eng.Candidate(engine.Digest(d.Value))
	if !ok && content != nil {
		var err error
		c, err = nd.eng.Evaluate(d.Height, inclusions(content), engine.Digest(content.StateDigest))
		if errors.Is(err, engine.ErrMissing) {
			nd.loop.undecided = &d
			nd.fetch(ctx, d.Certificate[0].Voter, nd.eng.Missing(inclusions(content)))
			return
		}
		if err != nil {
			// More than 2/3 signed a value this peer derives differently: it cannot follow on its
			// own, so it adopts a certified state from a peer.
			nd.log.Error("decided value does not re-derive here", "height", d.Height, "err", err)
			nd.loop.undecided = &d
			return
		}
		ok = true
	}
	if !ok || content == nil {
		nd.loop.undecided = &d
		return
	}
	cert, err := nd.decisionCertificate(d) // lazycert.go
	if err != nil {
		if !nd.cm.Status().Decided {
			// A badly signed precommit was retracted (checkedVote) and the decision with it: consensus
			// goes on with the height and decides again on a quorum of valid precommits.
			nd.loop.undecided = nil
			return
		}
		// Keep collecting: a later precommit may complete it (onVoteIn), or a certified state comes.
		nd.log.Warn("decision waits for a quorum of correctly signed precommits", "height", d.Height, "err", err)
		nd.loop.undecided = &d
		return
	}
	if err := nd.eng.Commit(c); err != nil {
		nd.log.Error("commit", "err", err)
		return
	}
	nd.loop.epoch += sim.EpochIncrement(nd.setup, nd.eng.Plan(d.Height))
	if len(content.Ops) > 0 {
		nd.applyChange(content, cert) // membership.go
	}
	resp := &wire.StateResponse{Run: nd.run, Height: d.Height, Round: c.Next.Round, X: c.Next.X, G: c.Next.G,
		Proposal: *content, Cert: cert, Changes: nd.chain.Proofs()}
	if err := nd.saveDecided(resp, true); err != nil {
		nd.stop(fmt.Errorf("%w: persisting the decided state of height %d: %w", ErrFatal, d.Height, err))
		return
	}
	if h := nd.hooks.afterDecided; h != nil {
		if nd.hooks.crashed = h(d.Height); nd.hooks.crashed != nil {
			return
		}
	}
	nd.loop.decided++
	// accountability: name members that signed no vote at this height, once its grace runs out.
	nd.acct.NoteSilent(d.Height, nd.loop.ticks, func(each func(int)) { nd.loop.votes.Voters(d.Height, each) })
	// Attempts 0..d.Round−1 of this height were abandoned.
	nd.loop.attemptsFailed += uint64(d.Round)
	nd.log.Debug("decided", "height", d.Height, "attempt", d.Round, "included", len(c.Included), "clipped", c.Outcome.Clipped)
	nd.advanceTo(ctx, c.Next.Round)
}

// saveDecided persists a decided state and makes it what this peer serves to laggards. certified says
// whether resp.Cert is a checked certificate or a candidate (certified when first served: lazycert.go).
func (nd *Node) saveDecided(resp *wire.StateResponse, certified bool) error {
	raw, err := wire.Marshal(resp)
	if err != nil {
		return err
	}
	nd.serving.Decided(resp, raw, certified) // tells a false-state attacker (adversary.go)
	if nd.store == nil {
		return nil
	}
	return nd.store.SaveState(raw)
}

// advanceTo moves consensus and the loop to height k after the engine reached state k.
func (nd *Node) advanceTo(ctx context.Context, k uint64) {
	nd.amnesiaAdvance(k)
	nd.loop.lastCommit = nd.loop.ticks
	nd.loop.undecided = nil
	st := nd.eng.State()
	if nd.beyondEpoch(k) {
		// membership.go: the member list changes here; the next epoch's Node starts this height.
		nd.epochOver = true
		nd.current.Store(k)
		nd.recordCommit(st)
		return
	}
	if nd.finished() {
		// Training is over: stay at the last decision, still serving it to laggards; Peer writes the
		// final model and stops after its grace period (model.go).
		nd.current.Store(k)
		nd.recordCommit(st)
		nd.markEnded()
		return
	}
	if err := nd.cm.StartHeight(k); err != nil {
		nd.log.Error("start height", "height", k, "err", err)
	}
	nd.recordCommit(st)
	nd.onNewHeight(ctx)
	nd.giveUpOnDeadProposer() // presumed.go
}

// finished reports whether the genesis' number of rounds has been decided.
func (nd *Node) finished() bool { return nd.eng.Round() >= uint64(nd.gen.Spec.Rounds) }

func (nd *Node) recordCommit(st *method.State) {
	if nd.cfg.OnCommit != nil {
		nd.cfg.OnCommit(st.Round, st.Digest())
	}
	if int(st.Round)%nd.gen.Spec.EvalEvery == 0 || int(st.Round) == nd.gen.Spec.Rounds {
		nd.loop.curve = append(nd.loop.curve, nd.point(st))
	}
}

// onNewHeight prunes per-height data and sends this member's round message if it is sampled.
func (nd *Node) onNewHeight(ctx context.Context) {
	k := nd.eng.Round()
	nd.current.Store(k)
	nd.loop.votes.PruneBelow(k)
	nd.pruneHanded(k) // blame.go
	for id, p := range nd.loop.values {
		if p.Height < k {
			delete(nd.loop.values, id)
		}
	}
	for r := range nd.loop.sent {
		if r < k {
			delete(nd.loop.sent, r)
		}
	}
	nd.sigs.Prune(k)
	nd.pruneRelay(k)
	nd.serving.Prune(k)
	nd.sendOwn(ctx)
}

// point records the honest objective at st and its held-out scores (the same numbers sim.Runner
// records; NaN scores when the spec has no test set).
func (nd *Node) point(st *method.State) sim.Point {
	loss := nd.setup.Objective(st.X)
	testLoss, testAcc := nd.testScore(st.X) // model.go
	return sim.Point{Round: int(st.Round), Epoch: nd.loop.epoch, Loss: loss, Gap: loss - nd.fstar,
		TestLoss: testLoss, TestAccuracy: testAcc}
}

// stop makes Run return err after the current input: the peer cannot go on safely (a decision or an
// adopted state that is not persisted would leave a journal whose record of votes a restart cannot
// line up with a state). The first error wins.
func (nd *Node) stop(err error) {
	nd.log.Error("stopping", "err", err)
	if nd.stopErr == nil {
		nd.stopErr = err
	}
}
