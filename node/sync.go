package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/node/statesync"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// requestTimeout bounds one request to one peer.
const requestTimeout = 5 * time.Second

// ErrNoState is returned to a state request when this peer has decided nothing yet.
var ErrNoState = statesync.ErrNoState

type fetchResult struct {
	asked []engine.Digest
	msgs  []*roundIn
}

type syncResult struct {
	resp *wire.StateResponse
	err  error
}

// fetch asks first the proposer, then every other member, for the messages with the given digests,
// in the background; the checked result returns to the loop.
func (nd *Node) fetch(ctx context.Context, first int, digests []engine.Digest) {
	var ask []engine.Digest
	for _, d := range digests {
		if !nd.loop.fetching[d] {
			nd.loop.fetching[d] = true
			ask = append(ask, d)
		}
	}
	if len(ask) == 0 {
		return
	}
	order := []p2p.PeerID{nd.peers[first]}
	for i, p := range nd.peers {
		if i != first && i != nd.self {
			order = append(order, p)
		}
	}
	go func() {
		res := &fetchResult{asked: ask}
		want := map[engine.Digest]bool{}
		for _, d := range ask {
			want[d] = true
		}
		for _, p := range order {
			if len(want) == 0 || ctx.Err() != nil {
				break
			}
			res.msgs = append(res.msgs, nd.fetchFrom(ctx, p, want)...)
		}
		select {
		case nd.in <- res:
		case <-ctx.Done():
		}
	}()
}

// fetchFrom requests the wanted envelopes from one peer and keeps those that check out.
func (nd *Node) fetchFrom(ctx context.Context, p p2p.PeerID, want map[engine.Digest]bool) []*roundIn {
	req := &wire.MsgRequest{Run: nd.run}
	for d := range want {
		req.Digests = append(req.Digests, wire.Digest(d))
	}
	body, err := wire.Marshal(req)
	if err != nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	raw, err := nd.cfg.Host.Request(rctx, p, protoMsgs, body, nd.lim.MaxMessage)
	if err != nil {
		nd.log.Debug("fetching round messages", "peer", p, "err", err)
		return nil
	}
	var resp wire.MsgResponse
	if err := wire.Unmarshal(raw, &resp, nd.lim); err != nil {
		return nil
	}
	var out []*roundIn
	for _, e := range resp.Envelopes {
		d := engine.Digest(sha256.Sum256(e))
		if !want[d] {
			continue
		}
		in, err := nd.checkRound(e, false)
		if err != nil {
			nd.log.Warn("fetched round message fails checks", "peer", p, "err", err)
			continue
		}
		delete(want, d)
		out = append(out, in)
	}
	return out
}

// serveMsgs answers a msgs/1 request with the round messages held (statesync.Server), each checked
// before it is served if it was stored unchecked (lazyround.go).
func (nd *Node) serveMsgs(_ context.Context, _ p2p.PeerID, req []byte) ([]byte, error) {
	return nd.serving.Msgs(req, nd.lim, nd.servable)
}

// serveState answers a state/1 request with the last decided state and its certificate
// (statesync.Server; a false-state attacker's lie instead, adversary.go).
func (nd *Node) serveState(_ context.Context, _ p2p.PeerID, req []byte) ([]byte, error) {
	return nd.serving.State(req, nd.lim)
}

// requestState asks a peer (first the one seen ahead, then the others) for its latest certified state.
func (nd *Node) requestState(ctx context.Context, first int) {
	nd.loop.syncing = true
	from := nd.eng.Round()
	order := []p2p.PeerID{nd.peers[first]}
	for i, p := range nd.peers {
		if i != first && i != nd.self {
			order = append(order, p)
		}
	}
	go func() {
		res := &syncResult{err: ErrNoState}
		for _, p := range order {
			resp, err := nd.stateFrom(ctx, p, from)
			if err == nil && resp.Round > from {
				res = &syncResult{resp: resp}
				break
			}
			if err != nil {
				res.err = err
			}
		}
		select {
		case nd.in <- res:
		case <-ctx.Done():
		}
	}()
}

func (nd *Node) stateFrom(ctx context.Context, p p2p.PeerID, from uint64) (*wire.StateResponse, error) {
	resp, err := statesync.Fetch(ctx, nd.cfg.Host, p, nd.run, from, nd.lim, requestTimeout)
	if err != nil {
		return nil, err
	}
	if err := nd.verifyState(resp); err != nil {
		nd.statesRejected.Add(1)
		nd.log.Warn("refused a state from a peer; asking the next", "peer", p, "height", resp.Height, "err", err)
		return nil, fmt.Errorf("state from %s: %w", p, err)
	}
	return resp, nil
}

// ErrBadState is wrapped by every reason to distrust a state response or a persisted state
// (statesync.Check).
var ErrBadState = statesync.ErrBadState

// verifyState checks a certified state against this Node's member history (statesync.Check).
func (nd *Node) verifyState(s *wire.StateResponse) error {
	_, err := statesync.Check(nd.chain, nd.run, nd.setup.Model.Dim(), s)
	return err
}

// adopt jumps to a verified state from a peer.
func (nd *Node) adopt(ctx context.Context, s *wire.StateResponse) {
	if s.Round <= nd.eng.Round() {
		return
	}
	nd.log.Info("catching up from a certified state", "from", nd.eng.Round(), "to", s.Round)
	nd.learnChanges(s) // membership.go: changes decided while we were away
	// The curve's epoch counts every decided round's minibatches, the adopted ones too, as sim's does.
	for k := nd.eng.Round(); k < s.Round; k++ {
		nd.loop.epoch += sim.EpochIncrement(nd.setup, nd.eng.Plan(k))
	}
	st := &method.State{Round: s.Round, X: s.X, G: s.G}
	nd.eng.Reset(st)
	if err := nd.saveDecided(s, true); err != nil {
		nd.stop(fmt.Errorf("%w: persisting the adopted state of round %d: %w", ErrFatal, s.Round, err))
		return
	}
	nd.advanceTo(ctx, s.Round)
}
