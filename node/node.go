package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/accountability"
	"github.com/byzpp/byzpp/node/amnesia"
	"github.com/byzpp/byzpp/node/byzantine"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/liveness"
	"github.com/byzpp/byzpp/node/relay"
	"github.com/byzpp/byzpp/node/roster"
	"github.com/byzpp/byzpp/node/statesync"
	"github.com/byzpp/byzpp/node/storage"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Names of the gossip topics and stream protocols (namespaced by p2p under its prefix and the run id).
const (
	topicRound     = "round"
	topicConsensus = "consensus"
	protoMsgs      = statesync.MsgsProto
	protoState     = statesync.Proto
)

// Tunables of the protocol around consensus, in ticks.
const (
	// maxFutureHeights is how far ahead consensus messages are buffered; beyond it a peer syncs.
	maxFutureHeights = 4
	// rebroadcastTicks spaces repeats of our latest consensus messages.
	rebroadcastTicks = 40
)

// Node is one running peer. Create it with New and run it with Run.
//
// Its fields are grouped by who owns them: the epoch it runs (fixed by New and useEpoch), what the event
// loop alone touches (loop, and the engine and consensus machine), what other goroutines read
// (published, counters, the Book), membership and what a restart may have lost (recovery).
type Node struct {
	cfg Config
	log *slog.Logger
	epochView
	adv   byzantine.Adversary // nil for an honest peer (adversary.go)
	store *storage.Store

	eng *engine.Engine
	cm  *consensus.Machine
	in  chan any

	roundT, consT p2p.Topic

	// Owned by the event loop.
	loop   loopState
	outbox outbox     // direct frames of the loop's current turn (outbox.go)
	hooks  crashHooks // tests only: stop the loop at exact points of a round, as a crash would
	// stopErr, once set, stops Run: a decision or an adopted state could not be persisted, and going
	// on would leave a journal whose vote record a restart cannot trust.
	stopErr error

	// Read by validators and stream handlers on other goroutines.
	current atomic.Uint64 // round being decided
	published
	counters
	sigs relay.SigCache // envelopes already accepted (relay/sigcache.go)
	// pairs holds the pairwise MAC keys of the vote relay (relay/pairkey.go, relay.go); nil if this
	// member's own key could not be converted (then it sends and accepts votes only directly).
	pairs    *relay.PairKeys
	relayMin int                  // relayMinMembers; tests lower it to relay among four
	acct     *accountability.Book // who is named for what (blame.go); safe from any goroutine

	membership
	recovery
	// end: the signal that the run's final state is held, and the held-out scorer (model.go).
	end nodeEnd
}

// epochView is who this peer is in the run and in the epoch its Node runs (New, useEpoch).
type epochView struct {
	gen *genesis.Genesis // the genesis as this epoch sees it: Members are the epoch's (membership.go)
	// genesis is the run's genesis file as read; the run id is its hash.
	genesis *genesis.Genesis
	run     wire.RunID
	self    int
	n       int
	keys    []p2p.PubKey
	peers   []p2p.PeerID
	setup   *sim.Setup
	own     *method.Member
	lim     wire.Limits
	fstar   float64
	tick    time.Duration
}

// published is what the loop publishes to other goroutines: its status snapshot (under mu; status.go)
// and what it serves to peers — the round messages it holds and its decided state (statesync.Server,
// which has its own lock; sync.go).
type published struct {
	mu      sync.Mutex
	status  Status
	serving *statesync.Server
}

// counters are the Status counters written from any goroutine.
type counters struct {
	// statesRejected counts state responses from peers that failed verifyState.
	statesRejected atomic.Uint64
	verified       atomic.Int64  // Ed25519 signatures of envelopes checked so far, for Status
	bundlesIn      atomic.Uint64 // vote bundles received (relay.go)
	macFailures    atomic.Uint64 // relayed votes dropped because their MAC did not hold
}

// membership is the member history of an open run as this Node sees it (membership.go): the history
// of member lists, the round at which the next decided change takes effect (0: none; this Node stops
// there and RunPeer starts the next epoch), whether it has, and the membership requests waiting for
// a proposal.
type membership struct {
	chain     *roster.Chain
	epochEnd  atomic.Uint64 // read by the message checks too (openEnvelope)
	epochOver bool
	cache     *sim.DataCache
	ops       map[[32]byte]wire.MemberOp
}

// recovery is what New found of a previous run of this peer and what it may have lost (persist.go,
// amnesia.go).
type recovery struct {
	amnesia amnesia.Guard // owned by the event loop (amnesia.go)
	// mayHaveForgotten records that New found StateDir damaged (persist.go) and ignored what failed,
	// or written before a machine restart without a clean stop (durability.go): votes this peer sent
	// may be missing from it (amnesia.go).
	mayHaveForgotten bool
	// votedThrough is the height of a persisted consensus record found above the persisted decided
	// state (its decision's record is missing): this peer signed at that height (persist.go).
	votedThrough uint64
	// heard is the highest height heard from each member, for the amnesia bound (amnesia.go).
	heard amnesia.Heights
	// restoredProof holds the proof-of-lock envelopes read by restore until New puts them in the vote
	// store (prooflock.go).
	restoredProof [][]byte
}

// New builds a node: it loads the data, builds the training setup and restores persisted state. It
// does not touch the network until Run.
func New(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := cfg.Genesis
	lg := cfg.Logger
	if lg == nil {
		lg = slog.Default()
	}
	runID, err := g.RunID()
	if err != nil {
		return nil, fmt.Errorf("node: run id: %w", err)
	}
	spec := g.Spec
	if cfg.Data != "" {
		spec.Data = cfg.Data
	}
	chain := cfg.Chain
	var store *storage.Store
	if cfg.StateDir != "" {
		store = storage.Open(cfg.StateDir)
	}
	if chain == nil {
		if chain, err = loadChain(store, g, runID, lg); err != nil {
			return nil, err
		}
	}
	cache := cfg.DataCache
	if cache == nil {
		cache = &sim.DataCache{}
	}
	// The member list in force is only known once the persisted state says which round this peer is
	// at: restore with the genesis' setup (only x^0 and the dimension matter), then take the epoch.
	nd := &Node{cfg: cfg, store: store, log: lg.With("run", wire.RunID(runID).String()), in: make(chan any, 1024),
		relayMin: relayMinMembers}
	nd.epochView = epochView{gen: g, genesis: g, run: runID, self: -1, n: len(g.Members), fstar: math.NaN()}
	nd.chain, nd.cache = chain, cache
	nd.adv, _ = byzantine.New(cfg.Attack, nodeEnv{nd}) // Config.validate checked the list
	nd.serving = statesync.NewServer(statesync.ServerConfig{Run: runID, Liar: nd.adv, Checked: &nd.verified, Log: nd.log,
		KeysAt: func(h uint64) ([]p2p.PubKey, error) { return nd.chain.KeysAt(h) }})
	if err := nd.useEpoch(chain.At(0), spec); err != nil {
		return nil, err
	}
	if g.FStar != nil {
		nd.fstar = *g.FStar
	}
	nd.tick = cfg.TickInterval
	if nd.tick == 0 {
		nd.tick = time.Duration(g.Timeouts.TickMillis) * time.Millisecond
	}
	st, restored, err := nd.startState()
	if err != nil {
		return nil, err
	}
	epoch := chain.At(st.Round)
	if err := nd.useEpoch(epoch, spec); err != nil {
		return nil, err
	}
	if nd.self < 0 {
		id, _ := p2p.PeerIDFromPrivateKey(cfg.Key)
		return nil, &NotMemberError{Peer: id, Round: st.Round, Chain: chain}
	}
	nd.log = lg.With("member", nd.self, "run", wire.RunID(runID).String())
	if next, ok := chain.Next(st.Round); ok {
		nd.epochEnd.Store(next.Start)
	}
	nd.usePairKeys() // relay.go
	nd.own = &method.Member{Index: nd.self, Model: nd.setup.Model, Data: nd.setup.Shards[nd.self]}
	nd.eng = engine.New(nd.setup, st)
	nd.cm, err = consensus.New(nd.consensusConfig(), restored)
	if err != nil {
		return nil, fmt.Errorf("node: consensus: %w", err)
	}
	nd.current.Store(st.Round)
	if nd.finished() {
		nd.markEnded() // restored at the end of the run (model.go)
	}
	nd.initLoop(st, restored)
	return nd, nil
}

// startState is the state this Node starts from: the verified state RunPeer's observer hands over
// (Config.start, persisted first), or what StateDir holds (persist.go).
func (nd *Node) startState() (*method.State, *consensus.PersistentState, error) {
	s := nd.cfg.start
	if s == nil {
		return nd.restore()
	}
	raw, err := wire.Marshal(s)
	if err != nil {
		return nil, nil, err
	}
	nd.serving.Restored(raw)
	if err := nd.saveChain(); err != nil {
		return nil, nil, fmt.Errorf("%w: persisting the member history: %w", ErrFatal, err)
	}
	if err := nd.saveDecided(s, true); err != nil {
		return nil, nil, fmt.Errorf("%w: persisting the fetched state: %w", ErrFatal, err)
	}
	return &method.State{Round: s.Round, X: s.X, G: s.G}, nil, nil
}

// initLoop prepares what the event loop owns for a start at state st: its bookkeeping, the restored
// proof of lock, the amnesia bound if votes may have been forgotten, and the curve (carried over from
// the previous epoch's Node).
func (nd *Node) initLoop(st *method.State, restored *consensus.PersistentState) {
	nd.loop.init()
	nd.loop.live = liveness.New(nd.n, nd.self, nd.presumedDeadTicks())
	nd.restoreProofOfLock(restored, nd.restoredProof) // prooflock.go
	nd.restoredProof = nil
	nd.loop.firstRound = st.Round
	nd.heard = amnesia.NewHeights(nd.n)
	if nd.mayHaveForgotten {
		var bound uint64
		ok := false
		if nd.store != nil {
			bound, ok = nd.store.LoadSignBound() // storage/signbound.go
		}
		nd.amnesia.Start(max(bound, nd.votedThrough), ok)
		nd.log.Warn("this peer may have forgotten votes it sent: it sits out the heights it may have signed at",
			"through", nd.amnesia.Through(), "known", ok)
	}
	if c := nd.cfg.carried; c != nil && len(c.curve) > 0 {
		nd.loop.curve, nd.loop.epoch = slices.Clone(c.curve), c.epoch
		if last := c.curve[len(c.curve)-1]; last.Round != int(st.Round) {
			nd.loop.curve = append(nd.loop.curve, nd.point(st))
		}
	} else {
		nd.loop.curve = append(nd.loop.curve, nd.point(st))
	}
}

func (nd *Node) consensusConfig() consensus.Config {
	t := nd.gen.Timeouts
	seed, n := nd.gen.Spec.Seed, nd.n
	return consensus.Config{
		Self: nd.self, N: n,
		Proposer:         func(h uint64, r uint32) int { return method.Leader(seed, h, r, n) },
		Propose:          consensus.TimeoutConfig{Base: t.ProposeBase, Delta: t.ProposeDelta},
		Prevote:          consensus.TimeoutConfig{Base: t.PrevoteBase, Delta: t.PrevoteDelta},
		Precommit:        consensus.TimeoutConfig{Base: t.PrecommitBase, Delta: t.PrecommitDelta},
		RebroadcastEvery: rebroadcastTicks,
		MaxFutureHeights: maxFutureHeights,
		Logger:           nd.log.With("component", "consensus"),
	}
}

// crashHooks let tests stop the event loop at the exact points of a round where a crash matters for
// safety. Both are nil outside tests; an error from either stops Run with that error at once, with
// nothing more persisted or sent — what a killed process leaves behind.
type crashHooks struct {
	// beforeSend runs for each consensus message after what the loop persisted is durable and
	// before the message leaves.
	beforeSend func(m consensus.Message) error
	// afterDecided runs once a decided state is persisted, before the next height starts.
	afterDecided func(height uint64) error
	crashed      error // set by afterDecided's error, returned by drain
}

// ErrFatal wraps errors that stop Run (the peer cannot continue safely, e.g. persistence failed).
var ErrFatal = errors.New("node: fatal")

// Run joins the run's topics, serves the stream protocols and drives the protocol until ctx ends
// (returns nil) or a fatal error occurs.
func (nd *Node) Run(ctx context.Context) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := nd.join(); err != nil {
		return err
	}
	defer nd.leave()
	if err := nd.joinDirect(ctx); err != nil {
		return err
	}
	defer nd.leaveDirect()
	if nd.store != nil {
		// Clean unless the loop stopped on an error (a crash in tests, a failed write): durability.go.
		defer func() { nd.store.Close(err == nil || errors.Is(err, ErrEpochOver)) }()
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, t := range []p2p.Topic{nd.roundT, nd.consT} {
		wg.Add(1)
		go func() { defer wg.Done(); nd.readTopic(ctx, t) }()
	}
	nd.loop.started = time.Now()
	if !nd.finished() {
		if !nd.cm.Status().Started {
			if err := nd.cm.StartHeight(nd.eng.Round()); err != nil {
				return fmt.Errorf("%w: %w", ErrFatal, err)
			}
		}
		nd.onNewHeight(ctx)
	}
	ticker := time.NewTicker(nd.tick)
	defer ticker.Stop()
	for {
		if err := nd.drain(ctx); err != nil {
			return err
		}
		if nd.stopErr != nil {
			return nd.stopErr
		}
		nd.flushRelay(false) // our own vote may have completed a quorum
		nd.flushOutbox()     // outbox.go: what this turn sent leaves, one write per member
		if nd.epochOver {
			nd.publishStatus()
			return ErrEpochOver // membership.go: RunPeer goes on with the next member list
		}
		nd.publishStatus()
		select {
		case <-ctx.Done():
			return nil
		case ev := <-nd.in:
			nd.handle(ctx, ev)
			nd.handleQueued(ctx)
			// Forward relayed votes before drain persists, decides and applies (relay.go).
			nd.flushRelay(false)
		case now := <-ticker.C:
			nd.onTick(ctx)
			if nd.store != nil {
				if err := nd.store.SyncIfDue(now); err != nil { // storage/durability.go
					return fmt.Errorf("%w: syncing the journal: %w", ErrFatal, err)
				}
			}
		case <-nd.relayTimer(): // relay.go: a pending vote has waited a tick
			nd.flushRelay(true)
		}
	}
}

// maxBatch bounds how many queued inputs the loop handles before draining consensus output.
const maxBatch = 64

// handleQueued handles the inputs that are already waiting, so that a burst (the votes of a round
// arrive together) costs one persist and one batch of sends rather than one per input. Persisting
// still precedes sending: drain saves the latest state before it sends anything.
func (nd *Node) handleQueued(ctx context.Context) {
	for range maxBatch {
		select {
		case ev := <-nd.in:
			nd.handle(ctx, ev)
		default:
			return
		}
	}
}

// join subscribes to the topics and registers the stream handlers.
func (nd *Node) join() error {
	h := nd.cfg.Host
	var err error
	if nd.roundT, err = h.JoinTopic(topicName(topicRound, nd.run), nd.validateRound); err != nil {
		return fmt.Errorf("%w: %w", ErrFatal, err)
	}
	if nd.consT, err = h.JoinTopic(topicName(topicConsensus, nd.run), nd.validateConsensus); err != nil {
		_ = nd.roundT.Close()
		return fmt.Errorf("%w: %w", ErrFatal, err)
	}
	nd.watchAbuse() // abuse.go
	// Round messages are served to members only: checked before a byte of the request is read.
	if err := h.Handle(protoMsgs, nd.lim.MaxMessage, nd.serveMsgs, p2p.Allow(nd.isMember)); err != nil {
		nd.leave()
		return fmt.Errorf("%w: %w", ErrFatal, err)
	}
	if err := h.Handle(protoState, 1024, nd.serveState); err != nil {
		nd.leave()
		return fmt.Errorf("%w: %w", ErrFatal, err)
	}
	if err := h.Handle(protoMember, 1024, nd.serveMember); err != nil {
		nd.leave()
		return fmt.Errorf("%w: %w", ErrFatal, err)
	}
	return nil
}

func (nd *Node) leave() {
	h := nd.cfg.Host
	h.Unhandle(protoMsgs)
	h.Unhandle(protoState)
	h.Unhandle(protoMember)
	if nd.roundT != nil {
		_ = nd.roundT.Close()
	}
	if nd.consT != nil {
		_ = nd.consT.Close()
	}
}

// topicName puts the run id in the topic so that runs never share a mesh.
func topicName(base string, run wire.RunID) string { return base + "/" + run.String() }
