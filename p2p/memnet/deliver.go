package memnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/byzpp/byzpp/p2p"
)

// pipe carries everything one host sends another, in order, on one goroutine of the sender.
type pipe struct {
	to    p2p.PeerID
	queue chan item
}

type item struct {
	gossip bool
	name   string // direct protocol name, or full topic name
	data   []byte
}

// pipeTo returns the pipe to p, starting its goroutine on first use.
func (h *Host) pipeTo(p p2p.PeerID) (*pipe, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, p2p.ErrClosed
	}
	if pp, ok := h.pipes[p]; ok {
		return pp, nil
	}
	pp := &pipe{to: p, queue: make(chan item, p2p.DirectQueue)}
	h.pipes[p] = pp
	h.wg.Go(func() { h.runPipe(pp) })
	return pp, nil
}

func (h *Host) runPipe(pp *pipe) {
	for {
		var it item
		select {
		case <-h.ctx.Done():
			return
		case it = <-pp.queue:
		}
		// Everything queued while the previous batch was delivered leaves in one "write".
		if !it.gossip {
			h.traffic.directWritesOut.Add(1)
		}
		for {
			if !h.deliver(pp, it) {
				dropQueued(pp.queue)
			}
			select {
			case it = <-pp.queue:
				continue
			default:
			}
			break
		}
	}
}

func dropQueued(q chan item) {
	for {
		select {
		case <-q:
		default:
			return
		}
	}
}

// deliver hands it to the receiver; false means the receiver was unreachable and what is queued
// behind it is stale.
func (h *Host) deliver(pp *pipe, it item) bool {
	r := h.net.host(pp.to)
	if r == nil {
		return false
	}
	if it.gossip {
		if h.Connected(pp.to) {
			r.receiveGossip(h.id, it.name, it.data)
		}
		return true
	}
	// A direct message dials (as opening a stream does) and waits a little for a receiver that does
	// not serve the protocol yet.
	pause := directRetryFirst
	deadline := time.Now().Add(directRetryFor)
	for {
		err := h.net.dial(h.id, pp.to)
		if err == nil {
			err = r.receiveDirect(h.id, it.name, it.data)
		}
		if err == nil {
			h.traffic.directOut.Add(int64(len(it.data)))
			h.traffic.directMsgsOut.Add(1)
			return true
		}
		if !errors.Is(err, ErrNotSupported) || time.Now().Add(pause).After(deadline) || h.IsBlocked(pp.to) {
			h.log.Debug("direct message lost", "peer", pp.to, "protocol", it.name, "err", err)
			return false
		}
		t := time.NewTimer(pause)
		select {
		case <-h.ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		pause = min(2*pause, directRetryMax)
	}
}

// HandleDirect serves direct protocol name with handler (replacing an earlier handler, also for
// messages already on their way).
func (h *Host) HandleDirect(name string, maxMsg int, handler p2p.DirectHandler, opts ...p2p.HandleOption) error {
	if _, err := protocolName(name); err != nil {
		return err
	}
	if maxMsg <= 0 || handler == nil {
		return fmt.Errorf("%w: direct handler for %s needs a positive message cap", p2p.ErrConfig, name)
	}
	h.mu.Lock()
	h.direct[name] = directService{name: name, maxMsg: maxMsg, handler: handler, allow: collectAllow(opts)}
	h.mu.Unlock()
	return nil
}

// UnhandleDirect stops serving direct protocol name.
func (h *Host) UnhandleDirect(name string) {
	h.mu.Lock()
	delete(h.direct, name)
	h.mu.Unlock()
}

// receiveDirect runs on the sender's pipe goroutine.
func (h *Host) receiveDirect(from p2p.PeerID, name string, data []byte) error {
	h.mu.Lock()
	svc, ok := h.direct[name]
	closed, blocked := h.closed, h.blockedLocked(from, time.Now())
	h.mu.Unlock()
	switch {
	case closed:
		return p2p.ErrClosed
	case blocked:
		return fmt.Errorf("%w: %s", p2p.ErrBlocked, from)
	case !ok:
		return ErrNotSupported
	case svc.allow != nil && !svc.allow(from):
		return ErrReset
	case len(data) > svc.maxMsg:
		h.invalid(p2p.InvalidInput{Peer: from, Protocol: name, Reason: p2p.ReasonTooLarge}, true)
		return ErrReset
	case len(data) == 0:
		h.invalid(p2p.InvalidInput{Peer: from, Protocol: name, Reason: p2p.ReasonEmpty}, true)
		return ErrReset
	}
	h.traffic.directIn.Add(int64(len(data)))
	h.traffic.directMsgsIn.Add(1)
	svc.handler(from, bytes.Clone(data))
	return nil
}

// Send queues msg for peer to on direct protocol name and returns at once (see p2p.Host.Send).
func (h *Host) Send(to p2p.PeerID, name string, msg []byte) error {
	if _, err := protocolName(name); err != nil {
		return err
	}
	if to == h.id {
		return fmt.Errorf("%w: direct message to ourselves", p2p.ErrConfig)
	}
	if h.IsBlocked(to) {
		return fmt.Errorf("%w: %s", p2p.ErrBlocked, to)
	}
	pp, err := h.pipeTo(to)
	if err != nil {
		return err
	}
	it := item{name: name, data: msg}
	if h.delay != nil {
		if !h.later(func() {
			select {
			case pp.queue <- it:
			default:
				h.log.Debug("delayed direct message dropped: queue full", "peer", to)
			}
		}) {
			return fmt.Errorf("%w: %s (send delay)", p2p.ErrQueueFull, to)
		}
		return nil
	}
	select {
	case pp.queue <- it:
		return nil
	default:
		return fmt.Errorf("%w: %s", p2p.ErrQueueFull, to)
	}
}

// Handle serves request protocol name with handler.
func (h *Host) Handle(name string, maxReq int, handler p2p.Handler, opts ...p2p.HandleOption) error {
	if _, err := protocolName(name); err != nil {
		return err
	}
	if maxReq <= 0 || handler == nil {
		return fmt.Errorf("%w: handler for %s needs a positive request cap", p2p.ErrConfig, name)
	}
	h.mu.Lock()
	h.handlers[name] = service{name: name, maxReq: maxReq, handler: handler, allow: collectAllow(opts)}
	h.mu.Unlock()
	return nil
}

// Unhandle stops serving protocol name.
func (h *Host) Unhandle(name string) {
	h.mu.Lock()
	delete(h.handlers, name)
	h.mu.Unlock()
}

type response struct {
	data []byte
	err  error
}

// Request sends req to peer to on protocol name and returns the response (see p2p.Host.Request).
func (h *Host) Request(ctx context.Context, to p2p.PeerID, name string, req []byte, maxResp int) ([]byte, error) {
	if _, err := protocolName(name); err != nil {
		return nil, err
	}
	if maxResp <= 0 {
		return nil, fmt.Errorf("%w: response cap must be positive", p2p.ErrConfig)
	}
	if h.IsBlocked(to) {
		return nil, fmt.Errorf("%w: %s", p2p.ErrBlocked, to)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := h.net.dial(h.id, to); err != nil {
		return nil, fmt.Errorf("memnet: opening %s stream to %s: %w", name, to, err)
	}
	r := h.net.host(to)
	done := make(chan response, 1)
	if err := r.serve(h.id, name, bytes.Clone(req), done); err != nil {
		return nil, fmt.Errorf("memnet: request %s to %s: %w", name, to, err)
	}
	var res response
	select {
	case res = <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("memnet: request %s to %s: %w", name, to, ctx.Err())
	}
	if res.err != nil {
		return nil, fmt.Errorf("memnet: request %s to %s: %w", name, to, res.err)
	}
	if len(res.data) > maxResp {
		return nil, fmt.Errorf("memnet: request %s to %s: %w: %d bytes, limit %d", name, to, p2p.ErrFrameTooLarge, len(res.data), maxResp)
	}
	h.traffic.streamOut.Add(int64(len(req)))
	h.traffic.streamIn.Add(int64(len(res.data)))
	return res.data, nil
}

// serve checks a request from from and runs its handler on a goroutine of h, which answers on done.
func (h *Host) serve(from p2p.PeerID, name string, req []byte, done chan<- response) error {
	h.mu.Lock()
	svc, ok := h.handlers[name]
	closed, blocked := h.closed, h.blockedLocked(from, time.Now())
	h.mu.Unlock()
	switch {
	case closed:
		return p2p.ErrClosed
	case !ok:
		return ErrNotSupported
	case blocked || (svc.allow != nil && !svc.allow(from)):
		return ErrReset
	case len(req) > svc.maxReq:
		h.invalid(p2p.InvalidInput{Peer: from, Protocol: name, Reason: p2p.ReasonTooLarge}, true)
		return ErrReset
	}
	h.traffic.streamIn.Add(int64(len(req)))
	if !h.spawn(func() {
		ctx, cancel := context.WithTimeout(h.ctx, h.opts.Stream.HandlerTimeout)
		defer cancel()
		resp, err := svc.handler(ctx, from, req)
		switch {
		case ctx.Err() != nil:
			done <- response{err: ErrReset}
		case err != nil:
			msg := err.Error()
			if len(msg) > maxErrorText {
				msg = msg[:maxErrorText]
			}
			done <- response{err: &p2p.RemoteError{Msg: msg}}
		default:
			h.traffic.streamOut.Add(int64(len(resp)))
			done <- response{data: bytes.Clone(resp)}
		}
	}) {
		return p2p.ErrClosed
	}
	return nil
}

// score is a peer's gossip penalty: rejected messages, decaying.
type score struct {
	invalid float64
	at      time.Time
}

// Score parameters, as p2p's gossipsub ones (p2p/gossip.go).
const (
	invalidWeight  = -10
	invalidDecay   = 0.99 // per second
	decayToZero    = 0.01
	appScoreWeight = -20
)

func (s *score) decayed(now time.Time) float64 {
	if s.invalid == 0 {
		return 0
	}
	v := s.invalid * math.Pow(invalidDecay, now.Sub(s.at).Seconds())
	if v < decayToZero {
		v = 0
	}
	return v
}

// penalise counts a rejected gossip message from p.
func (h *Host) penalise(p p2p.PeerID) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.scores[p]
	if !ok {
		s = &score{}
		h.scores[p] = s
	}
	s.invalid, s.at = s.decayed(now)+1, now
}

// PeerScore returns p's gossip score (0 for a peer without penalties), and false if h was never
// connected to p.
func (h *Host) PeerScore(p p2p.PeerID) (float64, bool) {
	if p == h.id {
		return 0, false
	}
	h.mu.Lock()
	known := h.known[p]
	h.mu.Unlock()
	if !known {
		return 0, false
	}
	return h.score(p), true
}

func (h *Host) score(p p2p.PeerID) float64 {
	now := time.Now()
	h.mu.Lock()
	var inv float64
	if s, ok := h.scores[p]; ok {
		inv = s.decayed(now)
	}
	recent := h.recentLocked(p, now)
	h.mu.Unlock()
	v := invalidWeight * inv * inv
	if recent > 0 && !h.Trusted(p) {
		v += float64(recent * appScoreWeight)
	}
	return v
}

// SetTrusted sets which peers are trusted (never blocked for invalid input; nil: nobody).
func (h *Host) SetTrusted(f func(p2p.PeerID) bool) {
	if f == nil {
		h.trusted.Store(nil)
		return
	}
	h.trusted.Store(&f)
}

// Trusted reports whether p is trusted.
func (h *Host) Trusted(p p2p.PeerID) bool {
	f := h.trusted.Load()
	return f != nil && (*f)(p)
}

// AllowTopics is a no-op: memnet tracks no subscriptions.
func (h *Host) AllowTopics(...string) {}

// OnInvalidInput sets the hook called with every invalid input a peer sends (nil removes it).
func (h *Host) OnInvalidInput(f func(p2p.InvalidInput)) {
	if f == nil {
		h.hook.Store(nil)
		return
	}
	h.hook.Store(&f)
}

// ReportInvalid records invalid input the caller found (the hook is not called).
func (h *Host) ReportInvalid(p p2p.PeerID, protocol, reason string) {
	h.invalid(p2p.InvalidInput{Peer: p, Protocol: protocol, Reason: reason}, false)
}

// InvalidInputs counts invalid input by reason.
func (h *Host) InvalidInputs() *p2p.ReasonCounter { return h.reasons }

func (h *Host) invalid(in p2p.InvalidInput, callHook bool) {
	h.reasons.Add(in.Reason)
	if callHook {
		if f := h.hook.Load(); f != nil {
			(*f)(in)
		}
	}
	if in.Peer == "" || in.Peer == h.id {
		return
	}
	now := time.Now()
	a := h.opts.Abuse
	h.mu.Lock()
	o := append(h.offences[in.Peer], now)
	if keep := max(a.InvalidThreshold, 1); len(o) > keep {
		o = o[len(o)-keep:]
	}
	h.offences[in.Peer] = o
	n := h.recentLocked(in.Peer, now)
	h.mu.Unlock()
	if a.InvalidThreshold < 0 || n < a.InvalidThreshold || h.Trusted(in.Peer) || h.IsBlocked(in.Peer) {
		return
	}
	h.log.Info("blocking peer for invalid input", "peer", in.Peer, "count", n, "for", a.BlockFor)
	h.BlockPeerFor(in.Peer, a.BlockFor)
}

func (h *Host) recentLocked(p p2p.PeerID, now time.Time) int {
	n := 0
	for _, t := range h.offences[p] {
		if now.Sub(t) < h.opts.Abuse.InvalidWindow {
			n++
		}
	}
	return n
}
