package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/byzpp/byzpp/p2p"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/roster"
	"github.com/byzpp/byzpp/node/statesync"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Peer runs one peer for the whole run, across membership changes: a Node per epoch while it is a
// member; while it is not (a volunteer joining an open run, or a member that was removed and came
// back), an observer that fetches certified states from the members, checks them from the genesis
// on, and asks to join. It is what `peer run` runs.
type Peer struct {
	cfg     Config
	dim     int
	leaving atomic.Bool
	// leaveNow wakes maintain when Leave is called, so the request goes out at once, not at the next
	// joinInterval (a run of short rounds could end before it).
	leaveNow chan struct{}
	// refused counts states from peers the observer found false (bad certificate, digest, history).
	refused atomic.Uint64
	mu      sync.Mutex
	cur     *Node
	obs     Status // the observer's status while there is no Node
	// lastChain is the member history as of the last epoch that ended or the last state observed.
	lastChain *roster.Chain
	end       EndOfRun // what Run does at the end of the run (model.go)
	// install, tests only: runs on each epoch's Node before it runs (crash hooks, vote records).
	install func(*Node)
}

// Observer pacing.
const (
	observePoll  = 300 * time.Millisecond
	joinInterval = 2 * time.Second
)

// NewPeer checks the config and loads the data set once for every epoch.
func NewPeer(cfg Config) (*Peer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DataCache == nil {
		cfg.DataCache = &sim.DataCache{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	spec := cfg.Genesis.Spec
	if cfg.Data != "" {
		spec.Data = cfg.Data
	}
	setup, err := sim.Build(spec, cfg.DataCache)
	if err != nil {
		return nil, fmt.Errorf("node: building the training setup: %w", err)
	}
	p := &Peer{cfg: cfg, dim: setup.Model.Dim(), end: EndOfRun{Linger: -1}, leaveNow: make(chan struct{}, 1)}
	p.obs = observerStatus()
	return p, nil
}

// Leave asks the run to drop this member (open runs): the peer sends signed leave requests until the
// change is decided, and Run returns once it took effect.
func (p *Peer) Leave() {
	if p.leaving.Swap(true) {
		return // asked already
	}
	select {
	case p.leaveNow <- struct{}{}:
	default:
	}
}

// Status returns the current Node's status, or the observer's.
func (p *Peer) Status() Status {
	p.mu.Lock()
	nd, obs := p.cur, p.obs
	p.mu.Unlock()
	if nd != nil {
		return nd.Status()
	}
	obs.Peers = len(p.cfg.Host.Peers())
	return obs
}

// Node returns the Node of the current or last epoch (nil while observing).
func (p *Peer) Node() *Node {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

func (p *Peer) setNode(nd *Node) {
	p.mu.Lock()
	p.cur = nd
	p.mu.Unlock()
}

// Run drives the peer until ctx ends (nil), it left the run, the run finished (ErrRunFinished, see
// EndOfRun), or a fatal error.
func (p *Peer) Run(ctx context.Context) error {
	cfg := p.cfg
	// A newcomer's members learn its address from the peer it dialled (p2p.ConnectAll).
	if err := cfg.Host.Handle(p2p.ProtoAddrs, p2p.MaxAddrsRequest, p2p.ServeAddrs(cfg.Host)); err != nil {
		return fmt.Errorf("%w: %w", ErrFatal, err)
	}
	defer cfg.Host.Unhandle(p2p.ProtoAddrs)
	if err := cfg.Host.Handle(ProtoGenesis, 64, p.serveGenesis); err != nil {
		return fmt.Errorf("%w: %w", ErrFatal, err)
	}
	defer cfg.Host.Unhandle(ProtoGenesis)
	log := cfg.Logger
	wasMember := false
	var pending []wire.MemberOp // requests the last epoch's Node queued and did not see decided
	for {
		nd, err := New(cfg)
		var nm *NotMemberError
		if errors.As(err, &nm) {
			if p.leaving.Load() && wasMember {
				log.Info("left the run", "round", nm.Round)
				return nil
			}
			p.setNode(nil)
			st, chain, err := p.observe(ctx, nm.Chain)
			if err != nil || st == nil {
				return err
			}
			cfg.Chain, cfg.start = chain, st
			continue
		}
		if err != nil {
			return err
		}
		wasMember = true
		for _, o := range pending {
			nd.addOp(o) // membership.go; requesters ask again only every joinInterval
		}
		pending = nil
		if p.install != nil {
			p.install(nd)
		}
		p.setNode(nd)
		mctx, stopMaintain := context.WithCancel(ctx)
		go p.maintain(mctx, nd)
		nctx, stopNode := context.WithCancel(ctx)
		ended := make(chan error, 1)
		go func() { ended <- p.watchEnd(nctx, nd, stopNode) }() // model.go
		err = nd.Run(nctx)
		stopNode()
		stopMaintain()
		if endErr := <-ended; err == nil && endErr != nil {
			return endErr // ErrRunFinished, or the final model could not be written
		}
		p.mu.Lock()
		p.lastChain = nd.chain
		p.mu.Unlock()
		if !errors.Is(err, ErrEpochOver) {
			return err
		}
		pending = pendingOps(nd)
		cfg.Chain, cfg.start = nd.chain, nil
		cfg.carried = &carried{curve: slices.Clone(nd.loop.curve), epoch: nd.loop.epoch}
		if cfg.StateDir == "" {
			cfg.start = nd.handoff()
		}
		log.Info("member list changes", "round", nd.eng.Round(), "members", len(nd.chain.At(nd.eng.Round()).Members))
	}
}

// pendingOps lists the membership requests nd queued that no decision took out, in key order: the
// next epoch's Node proposes them (the fault schedules saw a leave queued just before a change of
// the member list lost with the old Node, and the run end before the leaver asked again).
func pendingOps(nd *Node) []wire.MemberOp {
	keys := slices.SortedFunc(maps.Keys(nd.ops), func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	out := make([]wire.MemberOp, 0, len(keys))
	for _, k := range keys {
		out = append(out, nd.ops[k])
	}
	return out
}

// maintain runs beside a member's Node, at once and then every joinInterval: it keeps this member
// connected to every member of its epoch and, once Leave was called, sends its signed leave request
// to every member.
func (p *Peer) maintain(ctx context.Context, nd *Node) {
	t := time.NewTicker(joinInterval)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-p.leaveNow:
			}
		}
		p2p.ConnectAll(ctx, p.cfg.Host, nd.gen.Members, requestTimeout) // a newcomer's address may be news here
		if !p.leaving.Load() {
			continue
		}
		h := nd.current.Load()
		op, err := roster.SignOp(p.cfg.Key, nd.run, wire.OpLeave, h)
		if err != nil {
			return
		}
		select {
		case nd.in <- &opIn{op: op}:
		case <-ctx.Done():
			return
		}
		p.sendRequest(ctx, nd.run, nd.chain.Latest().Members, op)
	}
}

// sendRequest hands a membership request to each of the given members (in parallel).
func (p *Peer) sendRequest(ctx context.Context, run wire.RunID, members []string, op wire.MemberOp) {
	body, err := wire.Marshal(&wire.MemberRequest{Run: run, Op: op})
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, m := range members {
		id, err := p2p.DecodePeerID(m)
		if err != nil || id == p.cfg.Host.ID() {
			continue
		}
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, requestTimeout)
			defer cancel()
			if _, err := p.cfg.Host.Request(rctx, id, protoMember, body, 64); err != nil {
				p.cfg.Logger.Debug("membership request", "to", id, "err", err)
			}
		})
	}
	wg.Wait()
}

// observe follows the run from outside: it fetches the members' latest certified states, keeps the
// newest that checks out against the member history (extended by the changes it proves), asks to
// join an open run, and returns once this peer is a member at the state's round. It returns (nil,
// nil, nil) when ctx ends.
func (p *Peer) observe(ctx context.Context, chain *roster.Chain) (*wire.StateResponse, *roster.Chain, error) {
	g := p.cfg.Genesis
	run, err := g.RunID()
	if err != nil {
		return nil, nil, err
	}
	me := p.cfg.Host.ID().String()
	lim := wire.LimitsFor(uint32(p.dim), uint32(max(len(g.Members), g.Capacity())))
	log := p.cfg.Logger.With("observer", me)
	log.Info("not a member: following the run and asking to join", "open", g.Open)
	var (
		best     *wire.StateResponse
		lastJoin time.Time
	)
	t := time.NewTicker(observePoll)
	defer t.Stop()
	for {
		var from uint64
		if best != nil {
			from = best.Round
		}
		p2p.ConnectAll(ctx, p.cfg.Host, chain.Latest().Members, requestTimeout)
		if s, c := p.fetchBest(ctx, run, lim, chain, from); s != nil {
			best, chain = s, c
			p.mu.Lock()
			p.obs.Round, p.obs.Digest = s.Round, fmt.Sprintf("%x", s.Proposal.StateDigest[:])
			p.mu.Unlock()
		}
		if best != nil {
			if chain.At(best.Round).Index(me) >= 0 {
				log.Info("member from this round on", "round", best.Round, "members", len(chain.At(best.Round).Members))
				return best, chain, nil
			}
			if best.Round >= uint64(g.Spec.Rounds) {
				log.Info("the run is over: nothing left to join", "round", best.Round)
				return nil, nil, nil
			}
			if chain.Latest().Index(me) < 0 && time.Since(lastJoin) > joinInterval {
				if !g.Open {
					return nil, nil, fmt.Errorf("%w: peer %s is not a member", ErrClosedRun, me)
				}
				lastJoin = time.Now()
				op, err := roster.SignOp(p.cfg.Key, run, wire.OpJoin, best.Height)
				if err != nil {
					return nil, nil, err
				}
				log.Info("asking to join", "height", best.Height, "members", len(chain.Latest().Members))
				p.sendRequest(ctx, run, chain.Latest().Members, op)
			}
		}
		select {
		case <-ctx.Done():
			return nil, nil, nil
		case <-t.C:
		}
	}
}

// fetchBest asks every member of the latest known epoch and every connected peer for its state and
// returns the newest one past round from that checks out, with the history it proves.
func (p *Peer) fetchBest(ctx context.Context, run wire.RunID, lim wire.Limits, chain *roster.Chain, from uint64) (*wire.StateResponse, *roster.Chain) {
	targets := map[p2p.PeerID]bool{}
	for _, m := range slices.Concat(chain.Latest().Members, chain.At(from).Members) {
		if id, err := p2p.DecodePeerID(m); err == nil && id != p.cfg.Host.ID() {
			targets[id] = true
		}
	}
	for _, id := range p.cfg.Host.Peers() {
		targets[id] = true
	}
	var (
		mu        sync.Mutex
		best      *wire.StateResponse
		bestChain *roster.Chain
		wg        sync.WaitGroup
	)
	for id := range targets {
		wg.Go(func() {
			s, err := statesync.Fetch(ctx, p.cfg.Host, id, run, from, lim, requestTimeout)
			if err != nil || s.Round <= from {
				return
			}
			c, err := statesync.Check(chain, run, p.dim, s)
			if err != nil {
				p.refused.Add(1)
				p.cfg.Logger.Warn("refused a state from a peer", "peer", id, "err", err)
				return
			}
			mu.Lock()
			if best == nil || s.Round > best.Round {
				best, bestChain = s, c
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return best, bestChain
}
