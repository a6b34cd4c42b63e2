package memnet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byzpp/byzpp/p2p"
)

// topic is a joined topic of a memnet host.
type topic struct {
	host     *Host
	name     string
	validate p2p.Validator
	sub      chan p2p.Message
	done     chan struct{}
	closed   atomic.Bool
	rejects  *p2p.ReasonCounter
	ignores  *p2p.ReasonCounter

	mu     sync.Mutex
	seen   map[[32]byte]time.Time
	sweepN int
}

// JoinTopic joins topic name (under the protocol prefix) with validate.
func (h *Host) JoinTopic(name string, validate p2p.Validator) (p2p.Topic, error) {
	if name == "" || validate == nil {
		return nil, fmt.Errorf("%w: topic needs a name and a validator", p2p.ErrConfig)
	}
	full := h.opts.ProtocolPrefix + "/" + name
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, p2p.ErrClosed
	}
	if _, ok := h.topics[full]; ok {
		return nil, fmt.Errorf("p2p: topic %q already joined", name)
	}
	t := &topic{host: h, name: full, validate: validate, sub: make(chan p2p.Message, h.opts.Gossip.SubscriptionBuffer),
		done: make(chan struct{}), rejects: p2p.NewReasonCounter(), ignores: p2p.NewReasonCounter(),
		seen: map[[32]byte]time.Time{}, sweepN: 1024}
	h.topics[full] = t
	return t, nil
}

func (t *topic) Name() string                { return t.name }
func (t *topic) MaxPayload() int             { return t.host.opts.Gossip.MaxMessageSize - 4096 }
func (t *topic) Rejects() *p2p.ReasonCounter { return t.rejects }
func (t *topic) Ignores() *p2p.ReasonCounter { return t.ignores }

// Publish validates data with the host's own validator, delivers it locally and queues it for every
// connected peer (after Options.SendDelay, if set: errors past the size and closed checks are then
// only logged).
func (t *topic) Publish(ctx context.Context, data []byte) error {
	if t.closed.Load() {
		return p2p.ErrTopicClosed
	}
	if len(data) > t.MaxPayload() {
		return fmt.Errorf("%w: %d bytes, limit %d", p2p.ErrPayloadTooLarge, len(data), t.MaxPayload())
	}
	h := t.host
	if h.delay != nil {
		if !h.later(func() {
			if err := t.publishNow(data); err != nil {
				h.log.Debug("delayed publish failed", "topic", t.name, "err", err)
			}
		}) {
			return fmt.Errorf("%w: publishing on %s (send delay)", p2p.ErrQueueFull, t.name)
		}
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return t.publishNow(data)
}

func (t *topic) publishNow(data []byte) error {
	if t.closed.Load() {
		return p2p.ErrTopicClosed
	}
	h := t.host
	t.markSeen(data)
	decoded, res, reason := t.check(h.id, data)
	if res != p2p.Accept {
		return fmt.Errorf("p2p: publishing on %s: validation failed: %s (%s)", t.name, res, reason)
	}
	t.push(p2p.Message{From: h.id, Data: data, Decoded: decoded, Local: true})
	h.traffic.gossipOut.Add(int64(len(data)))
	for _, p := range h.Peers() {
		if h.IsBlocked(p) {
			continue
		}
		pp, err := h.pipeTo(p)
		if err != nil {
			return nil // closed meanwhile
		}
		select {
		case pp.queue <- item{gossip: true, name: t.name, data: data}:
		default:
			h.log.Debug("gossip to peer dropped: queue full", "peer", p, "topic", t.name)
		}
	}
	return nil
}

// receiveGossip runs on the sender's pipe goroutine.
func (h *Host) receiveGossip(from p2p.PeerID, name string, data []byte) {
	h.mu.Lock()
	t := h.topics[name]
	blocked := h.blockedLocked(from, time.Now())
	h.mu.Unlock()
	if t == nil || blocked || t.closed.Load() || h.score(from) < p2p.GraylistThreshold {
		return
	}
	if !t.markSeen(data) {
		return
	}
	data = bytes.Clone(data)
	decoded, res, _ := t.check(from, data)
	switch res {
	case p2p.Accept:
		t.push(p2p.Message{From: from, Data: data, Decoded: decoded})
	case p2p.Reject:
		h.penalise(from)
	}
}

// check runs the validator, counting its verdict; a panic is a Reject.
func (t *topic) check(from p2p.PeerID, data []byte) (decoded any, res p2p.ValidationResult, reason string) {
	defer func() {
		if r := recover(); r != nil {
			t.host.log.Error("gossip validator panicked", "topic", t.name, "from", from, "panic", r)
			decoded, res, reason = nil, p2p.Reject, "validator-panic"
			t.rejects.Add(reason)
		}
	}()
	decoded, res, reason = t.validate(t.host.ctx, from, data)
	switch res {
	case p2p.Accept:
	case p2p.Reject:
		t.rejects.Add(reason)
	default:
		res = p2p.Ignore
		t.ignores.Add(reason)
	}
	return decoded, res, reason
}

// markSeen records data's content hash and reports whether it was new (within seenFor).
func (t *topic) markSeen(data []byte) bool {
	id := sha256.Sum256(data)
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if at, ok := t.seen[id]; ok && now.Sub(at) < seenFor {
		return false
	}
	if len(t.seen) >= t.sweepN {
		for k, at := range t.seen {
			if now.Sub(at) >= seenFor {
				delete(t.seen, k)
			}
		}
		t.sweepN = max(1024, 2*len(t.seen))
	}
	t.seen[id] = now
	return true
}

func (t *topic) push(m p2p.Message) {
	select {
	case t.sub <- m:
	default:
		t.host.log.Debug("subscription buffer full: message dropped", "topic", t.name)
	}
}

// NextMessage returns the next validated message (own publishes included, marked Local).
func (t *topic) NextMessage(ctx context.Context) (p2p.Message, error) {
	select {
	case <-t.done:
		return p2p.Message{}, p2p.ErrTopicClosed
	default:
	}
	select {
	case m := <-t.sub:
		if !m.Local {
			t.host.traffic.gossipIn.Add(int64(len(m.Data)))
		}
		return m, nil
	case <-t.done:
		return p2p.Message{}, p2p.ErrTopicClosed
	case <-ctx.Done():
		return p2p.Message{}, ctx.Err()
	}
}

func (t *topic) Next(ctx context.Context) (p2p.PeerID, any, error) {
	m, err := t.NextMessage(ctx)
	return m.From, m.Decoded, err
}

// Peers lists the connected peers that joined the topic.
func (t *topic) Peers() []p2p.PeerID {
	var out []p2p.PeerID
	for _, p := range t.host.Peers() {
		if o := t.host.net.host(p); o != nil && o.joined(t.name) {
			out = append(out, p)
		}
	}
	return out
}

func (h *Host) joined(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.topics[name]
	return ok
}

// Close leaves the topic.
func (t *topic) Close() error {
	if !t.closed.CompareAndSwap(false, true) {
		return nil
	}
	t.host.mu.Lock()
	if t.host.topics[t.name] == t {
		delete(t.host.topics, t.name)
	}
	t.host.mu.Unlock()
	close(t.done)
	return nil
}
