package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/accountability"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/node/liveness"
	"github.com/byzpp/byzpp/node/relay"
	"github.com/byzpp/byzpp/node/votestore"
	"github.com/byzpp/byzpp/p2p/wire"
)

// voteKey identifies one signed vote, to find its envelope again for a certificate or a relay.
type voteKey struct {
	voter int
	vote  consensus.Vote
}

// loopState is everything the event loop owns besides the engine and the machine.
type loopState struct {
	ticks      uint64
	started    time.Time
	lastCommit uint64 // tick of the last decision or sync
	decided    uint64 // heights decided by this peer since start
	need       *consensus.NeedValue
	needTick   uint64
	lastProbe  uint64                                   // tick of the last blind state probe of a stuck peer (catchup.go)
	probes     uint64                                   // blind state probes sent so far (catchup.go)
	sent       map[uint64]bool                          // rounds whose message we sent
	values     map[consensus.ValueID]*wire.Proposal     // content of every value seen, by value id
	votes      *votestore.Store                         // signed envelopes of votes, for certificates and relay
	pending    map[consensus.ValueID]consensus.Proposal // proposals waiting for fetched messages
	fetching   map[engine.Digest]bool
	undecided  *consensus.Decision // a decision whose value we could not yet derive
	syncing    bool
	maxSeen    uint64
	seenFrom   int
	curve      []sim.Point
	firstRound uint64 // the round this Node started at
	epoch      float64
	evidence   uint64
	badProps   uint64
	digestOf   *method.State // the state whose digest digestHex is (status.go)
	digestHex  string
	memberB    uint64      // bytes of the distinct round messages stored (the payload, for benchmarks)
	relay      relay.State // relay.go
	spec       speculation // our message sent ahead of the decision it depends on (speculate.go)

	savedProof []consensus.Vote // the proof of lock whose envelopes were saved last (prooflock.go)
	live       *liveness.View   // who is presumed dead, which leaders are distrusted (presumed.go)
	// handovers records the round messages handed to leaders whose proposals omitted them (blame.go).
	handovers *accountability.Handovers

	// attemptsFailed counts consensus attempts abandoned before a decision, over the heights this
	// peer decided since start (a height decided at attempt a abandoned a of them).
	attemptsFailed uint64
}

func (l *loopState) init() {
	l.sent = map[uint64]bool{}
	l.values = map[consensus.ValueID]*wire.Proposal{}
	l.votes = votestore.New(votestore.PerVoter)
	l.handovers = accountability.NewHandovers()
	l.pending = map[consensus.ValueID]consensus.Proposal{}
	l.fetching = map[engine.Digest]bool{}
	l.relay.Init(staleGrace)
}

// handle processes one input from a reader or a background request.
func (nd *Node) handle(ctx context.Context, ev any) {
	switch e := ev.(type) {
	case *roundIn:
		if nd.beyondEpoch(e.msg.Round) {
			return // for the next epoch's Node (membership.go)
		}
		nd.heardFrom(int(e.msg.Member))                   // presumed.go
		nd.acct.NoteAlive(int(e.msg.Member), e.msg.Round) // it runs, so silence is withholding
		nd.addRound(e)
		nd.afterMessages(ctx)
	case *proposalIn:
		if nd.beyondEpoch(e.p.Height) {
			return
		}
		nd.acct.NoteAlive(e.signer, e.p.Height)
		nd.onProposal(ctx, e)
	case *voteIn:
		if nd.beyondEpoch(e.v.Height) {
			return // membership.go: for the next epoch's Node
		}
		if e.auth != nil {
			nd.relayIntake(e) // relay.go: we lead this attempt; forward it
		}
		if !e.stale {
			nd.onVoteIn(ctx, e)
		}
	case *bundleIn:
		for _, v := range e.votes {
			nd.onVoteIn(ctx, v)
		}
	case *handoverIn:
		nd.adoptHandover(ctx, e) // handover.go
	case *authRoundIn:
		nd.onAuthRound(ctx, e) // speculate.go
	case *roundsIn:
		for _, r := range e.msgs {
			if !nd.beyondEpoch(r.msg.Round) {
				nd.acct.NoteAlive(int(r.msg.Member), r.msg.Round)
				nd.addRound(r)
			}
		}
		nd.afterMessages(ctx)
	case *opIn:
		nd.addOp(e.op)
	case *fetchResult:
		for _, r := range e.msgs {
			nd.addRound(r)
		}
		for _, d := range e.asked {
			delete(nd.loop.fetching, d)
		}
		nd.afterMessages(ctx)
	case *syncResult:
		nd.loop.syncing = false
		if e.err != nil {
			nd.log.Warn("state sync failed", "err", e.err)
			return
		}
		nd.adopt(ctx, e.resp)
	}
}

// onVoteIn counts a checked vote.
func (nd *Node) onVoteIn(ctx context.Context, e *voteIn) {
	if nd.beyondEpoch(e.v.Height) {
		return // membership.go: for the next epoch's Node
	}
	nd.onVote(e)
	if d := nd.loop.undecided; d != nil && e.v.Type == wire.Precommit && e.v.Height == d.Height {
		// A certificate may have lacked correctly signed precommits: this one may complete it.
		nd.loop.undecided = nil
		nd.apply(ctx, *d)
	}
}

// addRound stores a round message in the engine and serves it to peers that lack it.
func (nd *Node) addRound(r *roundIn) {
	st := &engine.Stored{Digest: r.digest, State: engine.Digest(r.msg.StateDigest), Msg: methodMessage(r.msg), Raw: r.raw, Arrived: nd.loop.ticks}
	err := nd.eng.Add(r.msg.Round, st)
	switch {
	case err == nil:
		nd.loop.memberB += uint64(len(r.raw))
		nd.serving.Hold(r.msg.Round, r.digest, r.raw)
	case errors.Is(err, engine.ErrEquivocation):
		nd.log.Warn("round message equivocation", "author", r.msg.Member, "round", r.msg.Round)
		nd.acct.MarkFaulty(int(r.msg.Member))
	case errors.Is(err, engine.ErrDuplicate), errors.Is(err, engine.ErrWrongRound), errors.Is(err, engine.ErrWrongState):
	default:
		nd.log.Debug("round message dropped", "author", r.msg.Member, "round", r.msg.Round, "err", err)
	}
}

// afterMessages re-checks what new round messages may unblock: proposals waiting for them, an
// undecided decision, a leader waiting for its sample, an attacker waiting for honest messages.
func (nd *Node) afterMessages(ctx context.Context) {
	for id, p := range nd.loop.pending {
		if p.Height != nd.eng.Round() {
			delete(nd.loop.pending, id)
			continue
		}
		content := nd.loop.values[id]
		if len(nd.eng.Missing(inclusions(content))) == 0 {
			delete(nd.loop.pending, id)
			nd.evaluate(ctx, p)
		}
	}
	if d := nd.loop.undecided; d != nil {
		nd.loop.undecided = nil
		nd.apply(ctx, *d)
	}
	nd.maybePropose()
	if nd.adv != nil {
		nd.adv.Craft(ctx) // adversary.go: a crafted message waiting for the honest ones
	}
}

func (nd *Node) onProposal(ctx context.Context, in *proposalIn) {
	p := in.p
	cp := consensus.Proposal{Height: p.Height, Round: p.Round, POLRound: p.POLRound,
		Value: consensus.ValueID(p.ValueID()), Proposer: in.signer}
	if _, ok := nd.loop.values[cp.Value]; !ok {
		nd.loop.values[cp.Value] = p
	}
	nd.noteHeight(p.Height, in.signer)
	nd.heardFrom(in.signer)                  // presumed.go
	nd.noteLeaderProposal(p.Height, p.Round) // relay.go: the leader works
	nd.noteSpecProposal(p)                   // speculate.go: did it include our message sent ahead?
	switch {
	case p.Height < nd.eng.Round():
		return
	case p.Height > nd.eng.Round():
		_ = nd.cm.StepProposal(cp, false) // buffered; it comes back in Ready.Validate
		return
	}
	nd.evaluate(ctx, cp)
}

// evaluate re-derives a proposal of the current height and tells consensus whether it is valid; if
// included messages are missing, it fetches them first (the proposal waits, so that consensus does not
// prevote nil merely because a message was slower than the proposal). Since the next round's messages
// travel ahead of the proposal, in the same write as it (speculate.go), one still missing is seldom
// on its way: waiting for it (a quarter tick, tried here) only made such a member fall behind.
func (nd *Node) evaluate(ctx context.Context, cp consensus.Proposal) {
	content := nd.loop.values[cp.Value]
	if content == nil {
		return
	}
	inc := inclusions(content)
	_, err := nd.eng.Evaluate(cp.Height, inc, engine.Digest(content.StateDigest))
	if errors.Is(err, engine.ErrMissing) {
		nd.loop.pending[cp.Value] = cp
		nd.fetch(ctx, cp.Proposer, nd.eng.Missing(inc))
		return
	}
	if err == nil {
		err = nd.checkCensorship(cp, content) // blame.go
	}
	if err == nil {
		err = nd.checkProposalOps(content) // membership.go
	}
	switch {
	case errors.Is(err, ErrSilenceDisputed): // membership.go: views of silence differ, nobody to name
		nd.loop.badProps++
		nd.log.Info("proposal refused: it removes a member this peer heard from", "height", cp.Height,
			"attempt", cp.Round, "leader", cp.Proposer, "err", err)
	case errors.Is(err, accountability.ErrOmitted):
		// Refused, but the leader may never have had the message (it started late, restarted): it
		// was handed over (blame.go), and only a repeated omission names it.
		nd.loop.badProps++
		nd.log.Info("proposal refused: it omits a message this peer holds, now handed to the leader",
			"height", cp.Height, "attempt", cp.Round, "leader", cp.Proposer, "err", err)
	case err != nil:
		nd.loop.badProps++
		nd.acct.BlameOnce(cp.Proposer, accountability.BadProposal, cp.Height, cp.Round)
		nd.loop.live.Distrust(cp.Proposer, cp.Height) // presumed.go: not waited for a while
		nd.log.Warn("invalid proposal", "height", cp.Height, "attempt", cp.Round, "leader", cp.Proposer, "err", err)
	}
	_ = nd.cm.StepProposal(cp, err == nil)
}

func (nd *Node) onVote(in *voteIn) {
	v := in.v
	cv := consensus.Vote{Type: consensus.VoteType(v.Type), Height: v.Height, Round: v.Round,
		Value: consensus.ValueID(v.Value), Voter: int(in.env.Signer)}
	nd.noteHeight(v.Height, cv.Voter)
	nd.heardFrom(cv.Voter) // presumed.go
	// A vote that arrives after this peer decided its height still is not silence.
	nd.acct.ClearSilent(cv.Voter, v.Height)
	if nd.checkDoubleVote(cv) { // blame.go: also catches a conflicting vote that arrives late
		nd.loop.evidence++
	}
	if v.Height < nd.eng.Round() {
		return
	}
	key := voteKey{voter: cv.Voter, vote: cv}
	// Stored within the voter's own allowance (votestore): a flooding member evicts only its own votes.
	if nd.loop.votes.Put(cv, in.raw, in.unverified) {
		nd.relayCount(key) // relay.go: the leader's quorum count
	}
	if o := nd.loop.votes.Overruns(cv.Height, cv.Voter); o > 0 && o%votestore.PerVoter == 0 {
		nd.offence(cv.Voter, accountability.Flood) // abuse.go: a vote flood
	}
	_ = nd.cm.StepVote(cv)
}

// noteHeight remembers the highest height other members are working on, to notice falling behind.
func (nd *Node) noteHeight(h uint64, from int) {
	if h > nd.loop.maxSeen {
		nd.loop.maxSeen, nd.loop.seenFrom = h, from
	}
}

// onTick advances time: consensus timeouts, the leader's collection deadline, an attacker's wait,
// and catching up when others are ahead and nothing was decided for a while.
func (nd *Node) onTick(ctx context.Context) {
	nd.loop.ticks++
	nd.relayTick() // relay.go: nothing waits longer than a tick; fallback to all-to-all
	nd.cm.Tick()
	nd.giveUpOnDeadProposer() // presumed.go
	nd.maybePropose()
	if nd.adv != nil {
		nd.adv.Craft(ctx) // adversary.go: a crafted message's wait for the honest ones may be over
		nd.adv.Tick(ctx)  // forged, spam and flood messages of a Byzantine peer
	}
	nd.guardSpeculation() // speculate.go: a message sent ahead no proposal included goes to everyone
	if nd.eng.Round() > 0 {
		nd.acct.JudgeSilent(nd.eng.Round()-1, nd.loop.ticks) // the last heights get no later decision
	}
	t := nd.gen.Timeouts
	stuck := nd.loop.ticks-nd.loop.lastCommit > uint64(t.ProposeBase+t.PrevoteBase+t.PrecommitBase)
	if !nd.loop.syncing && stuck && (nd.loop.maxSeen > nd.eng.Round() || nd.loop.undecided != nil) {
		nd.requestState(ctx, nd.loop.seenFrom)
	} else if !nd.loop.syncing && stuck && nd.shouldProbe(uint64(t.ProposeBase+t.PrevoteBase+t.PrecommitBase)) {
		nd.requestState(ctx, nd.probeTarget()) // catchup.go: nobody may be left to tell us we are behind
	}
}

// drain runs the consensus Ready/Advance loop: persist, send, then act on decisions and requests.
func (nd *Node) drain(ctx context.Context) error {
	// A lone member decides height after height inside this loop without waiting for anyone, so the
	// loop itself must notice shutdown.
	for nd.cm.HasReady() && ctx.Err() == nil {
		rd := nd.cm.Ready()
		if rd.Persist != nil && nd.store != nil {
			if err := nd.store.SaveConsensus(rd.Persist); err != nil {
				return fmt.Errorf("%w: persisting consensus state: %w", ErrFatal, err)
			}
			if err := nd.saveProofOfLock(rd.Persist); err != nil { // prooflock.go
				return fmt.Errorf("%w: persisting the proof of lock: %w", ErrFatal, err)
			}
		}
		if (len(rd.Messages) > 0 || len(rd.Relay) > 0) && nd.store != nil {
			// Persisted before anything leaves (see store.beforeSend for why only then).
			if err := nd.store.BeforeSend(); err != nil {
				return fmt.Errorf("%w: persisting consensus state: %w", ErrFatal, err)
			}
			if err := nd.store.CoverSigning(highestSigned(rd.Messages)); err != nil { // storage/signbound.go
				return fmt.Errorf("%w: %w", ErrFatal, err)
			}
		}
		for _, m := range rd.Messages {
			if nd.abstains(m) { // amnesia.go: what it signed before may be forgotten
				continue
			}
			if nd.repeatTooSoon(m) { // relay.go: the originals went out less than a period ago
				continue
			}
			if h := nd.hooks.beforeSend; h != nil {
				if err := h(m); err != nil {
					return err
				}
			}
			nd.send(ctx, m)
		}
		for _, v := range rd.Relay {
			if !nd.silent() {
				nd.relayVote(v)
			}
		}
		for _, e := range rd.Evidence {
			nd.loop.evidence++
			nd.log.Warn("equivocation evidence", "culprit", e.Member, "height", e.Height, "attempt", e.Round,
				"kind", e.First.Kind)
			nd.acct.MarkFaulty(e.Member)
		}
		if rd.NeedValue != nil {
			nd.loop.need, nd.loop.needTick = rd.NeedValue, nd.loop.ticks
		}
		validate := slices.Clone(rd.Validate)
		decisions := slices.Clone(rd.Decisions)
		nd.cm.Advance(rd)
		for _, p := range validate {
			nd.evaluate(ctx, p)
		}
		for _, d := range decisions {
			nd.apply(ctx, d)
			if err := nd.hooks.crashed; err != nil {
				return err
			}
			if nd.stopErr != nil {
				return nd.stopErr
			}
		}
		nd.maybePropose()
	}
	return nil
}

// highestSigned is the highest height among our consensus messages.
func highestSigned(ms []consensus.Message) uint64 {
	var h uint64
	for _, m := range ms {
		if m.Kind == consensus.KindProposal {
			h = max(h, m.Proposal.Height)
		} else {
			h = max(h, m.Vote.Height)
		}
	}
	return h
}

// send signs and gossips one of our consensus messages.
func (nd *Node) send(ctx context.Context, m consensus.Message) {
	if nd.adv != nil && nd.adv.OnSend(ctx, m) { // adversary.go: withheld or equivocated
		return
	}
	switch m.Kind {
	case consensus.KindProposal:
		p := m.Proposal
		content := nd.loop.values[p.Value]
		if content == nil {
			nd.log.Error("proposal of an unknown value", "value", p.Value)
			return
		}
		body := *content
		body.Round, body.POLRound = p.Round, p.POLRound
		// relay.go: the precommits and round messages we relay go first, in the same write.
		nd.flushRelay(true)
		nd.noteSpecProposal(&body) // speculate.go: our own proposal includes our message
		if _, _, err := nd.publish(&body); err != nil {
			nd.log.Debug("publishing proposal", "err", err)
		}
	case consensus.KindVote:
		v := m.Vote
		key := voteKey{voter: nd.self, vote: v}
		if raw, _, ok := nd.loop.votes.Get(key.vote); ok {
			nd.broadcast(raw) // a rebroadcast: the same signed bytes (Ed25519 is deterministic anyway)
			return
		}
		body := &wire.Vote{Run: nd.run, Type: wire.VoteType(v.Type), Height: v.Height, Round: v.Round, Value: wire.Digest(v.Value)}
		raw, err := nd.sign(body)
		if err != nil {
			nd.log.Debug("signing vote", "err", err)
			return
		}
		if nd.adv != nil {
			raw = nd.adv.SignedVote(raw) // adversary.go: a corrupted signature
		}
		nd.loop.votes.Put(v, raw, false)
		nd.sendVote(v, raw) // relay.go: through the leader, or to everyone
	}
}

// collectDone reports whether a leader has waited long enough to propose: an honest one proposes once
// the sample is complete or CollectTicks have passed since consensus asked for a value; an adversary
// may set its own wait (a censor waits longer, adversary.go).
func (nd *Node) collectDone() bool {
	waited := nd.loop.ticks - nd.loop.needTick
	window := uint64(nd.gen.Timeouts.CollectTicks)
	if nd.adv != nil {
		if wait, ok := nd.adv.CollectWindow(window); ok {
			return waited >= wait
		}
	}
	return nd.sampleHeldOrDead() || waited >= window // presumed.go: no wait for the dead
}

// maybePropose answers consensus' request for a value once the sample is complete or the collection
// time is up.
func (nd *Node) maybePropose() {
	need := nd.loop.need
	if need == nil {
		return
	}
	if need.Height != nd.eng.Round() {
		nd.loop.need = nil
		return
	}
	if !nd.collectDone() { // a censor waits longer
		return
	}
	nd.loop.need = nil
	c, err := nd.eng.Propose()
	if err != nil {
		nd.log.Error("building a proposal", "height", need.Height, "err", err)
		return
	}
	if held, sampled := len(c.Included), len(nd.eng.Plan(c.Round).Sample); held < sampled {
		// Legitimate when sampled members are silent, but it is where a network run stops matching
		// testnet sim's curve, so say so.
		nd.log.Info("proposing without every sampled message: the collection window ended",
			"height", c.Round, "attempt", need.Round, "held", held, "sampled", sampled)
	}
	c = nd.signedOnly(c) // lazyround.go: never propose a message whose signature fails
	inc, sd := c.Included, c.StateDigest
	if nd.adv != nil {
		inc, sd = nd.adv.LeaderChoice(c) // adversary.go: a Byzantine leader doctors its proposal
	}
	content := &wire.Proposal{Run: nd.run, Height: c.Round, Round: need.Round, POLRound: -1, StateDigest: wire.Digest(sd),
		Ops: nd.proposeOps(c.Round)}
	for _, in := range inc {
		content.Included = append(content.Included, wire.Inclusion{Member: uint32(in.Member), Digest: wire.Digest(in.Digest)})
	}
	id := consensus.ValueID(content.ValueID())
	nd.loop.values[id] = content
	if err := nd.cm.Propose(need.Height, need.Round, id); err != nil {
		nd.log.Debug("proposing", "err", err)
	}
}

func inclusions(p *wire.Proposal) []engine.Inclusion {
	if p == nil {
		return nil
	}
	out := make([]engine.Inclusion, len(p.Included))
	for i, in := range p.Included {
		out[i] = engine.Inclusion{Member: int(in.Member), Digest: engine.Digest(in.Digest)}
	}
	return out
}
