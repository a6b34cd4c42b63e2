package p2p

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ValidationResult is a validator's verdict on a gossip message.
type ValidationResult int

const (
	// Accept delivers the message and forwards it.
	Accept ValidationResult = iota
	// Reject drops the message and penalises the peer that forwarded it (graylisting it after a few).
	// Use it only for objectively invalid messages — undecodable, badly signed, from a non-member — that
	// an honest forwarder would itself have rejected.
	Reject
	// Ignore drops the message without penalty: stale, early, duplicate, or otherwise not useful now.
	Ignore
)

func (r ValidationResult) String() string {
	switch r {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case Ignore:
		return "ignore"
	}
	return fmt.Sprintf("ValidationResult(%d)", int(r))
}

// Validator checks a gossip message from peer from (the peer that forwarded it, not necessarily its
// author) and returns the decoded value, which Topic.Next hands out so nothing is decoded twice. reason
// labels Reject and Ignore verdicts in the topic's counters: keep it to a few fixed strings.
//
// Gossipsub also runs the validator on this host's own publishes; a rejected publish fails.
type Validator func(ctx context.Context, from peer.ID, data []byte) (decoded any, res ValidationResult, reason string)

var (
	// ErrTopicClosed is returned by a closed topic.
	ErrTopicClosed = errors.New("p2p: topic closed")
	// ErrPayloadTooLarge: a gossip payload exceeds Topic.MaxPayload; send it over a stream instead.
	ErrPayloadTooLarge = errors.New("p2p: gossip payload too large")
)

// gossipFraming is what MaxPayload leaves of GossipConfig.MaxMessageSize for gossipsub's own framing
// (the RPC and message protobufs, the topic name), which counts against the same cap.
const gossipFraming = 4096

// Message is one validated gossip message.
type Message struct {
	From    peer.ID // the peer that forwarded it to us (our own ID for our own publishes)
	Data    []byte
	Decoded any  // what the validator returned
	Local   bool // published by this host
}

// gossipTopic is a joined gossip topic with its validator and subscription: the Topic a Host's
// JoinTopic returns.
//
// Messages are identified by the SHA-256 of their payload and deduplicated for gossipsub's seen-cache
// period (two minutes); a payload replayed after that is delivered again, so consumers must tolerate
// duplicates (byzpp messages carry their run, round and signer, which makes that easy).
type gossipTopic struct {
	host    *Host
	name    string
	t       *pubsub.Topic
	sub     *pubsub.Subscription
	rejects *ReasonCounter
	ignores *ReasonCounter
	closed  atomic.Bool
}

// JoinTopic joins the gossip topic name (namespaced under the protocol prefix), registers validate for
// it, enables peer scoring on it and subscribes. Joining the same name twice is an error.
func (h *Host) JoinTopic(name string, validate Validator) (Topic, error) {
	if name == "" || validate == nil {
		return nil, fmt.Errorf("%w: topic needs a name and a validator", ErrConfig)
	}
	full := h.opts.ProtocolPrefix + "/" + name
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if _, ok := h.topics[full]; ok {
		return nil, fmt.Errorf("p2p: topic %q already joined", name)
	}
	t := &gossipTopic{host: h, name: full, rejects: newReasonCounter(), ignores: newReasonCounter()}
	// A joined topic is tracked from now on, and stays tracked after Close (see subFilter).
	h.subs.allow(false, name)
	err := h.ps.RegisterTopicValidator(full, pubsub.ValidatorEx(t.validator(validate)),
		pubsub.WithValidatorTimeout(h.opts.Gossip.ValidatorTimeout))
	if err != nil {
		return nil, fmt.Errorf("p2p: registering validator for %q: %w", name, err)
	}
	if t.t, err = h.ps.Join(full); err != nil {
		_ = h.ps.UnregisterTopicValidator(full)
		return nil, fmt.Errorf("p2p: joining %q: %w", name, err)
	}
	if err := t.t.SetScoreParams(topicScoreParams()); err != nil {
		t.abandon()
		return nil, fmt.Errorf("p2p: scoring %q: %w", name, err)
	}
	if t.sub, err = t.t.Subscribe(pubsub.WithBufferSize(h.opts.Gossip.SubscriptionBuffer)); err != nil {
		t.abandon()
		return nil, fmt.Errorf("p2p: subscribing to %q: %w", name, err)
	}
	h.topics[full] = t
	return t, nil
}

// validator adapts a Validator to gossipsub's ValidatorEx: it stores the decoded value in
// ValidatorData, counts verdicts by reason, and turns a validator panic into Reject rather than a crash.
func (t *gossipTopic) validator(validate Validator) func(context.Context, peer.ID, *pubsub.Message) pubsub.ValidationResult {
	return func(ctx context.Context, from peer.ID, msg *pubsub.Message) (res pubsub.ValidationResult) {
		defer func() {
			if r := recover(); r != nil {
				t.host.log.Error("gossip validator panicked", "topic", t.name, "from", from, "panic", r)
				t.rejects.Add("validator-panic")
				res = pubsub.ValidationReject
			}
		}()
		decoded, verdict, reason := validate(ctx, from, msg.GetData())
		switch verdict {
		case Accept:
			msg.ValidatorData = decoded
			return pubsub.ValidationAccept
		case Reject:
			t.rejects.Add(reason)
			t.host.log.Debug("gossip message rejected", "topic", t.name, "from", from, "reason", reason)
			return pubsub.ValidationReject
		default:
			t.ignores.Add(reason)
			return pubsub.ValidationIgnore
		}
	}
}

// Name returns the full topic name.
func (t *gossipTopic) Name() string { return t.name }

// MaxPayload is the largest payload Publish accepts: GossipConfig.MaxMessageSize minus room for
// gossipsub's framing. Larger messages go over a direct stream, with only their digest gossiped.
func (t *gossipTopic) MaxPayload() int { return t.host.opts.Gossip.MaxMessageSize - gossipFraming }

// Publish validates data with this host's own validator and gossips it (after Options.SendDelay, if
// set, in which case errors past the size and closed checks are only logged).
func (t *gossipTopic) Publish(ctx context.Context, data []byte) error {
	if t.closed.Load() {
		return ErrTopicClosed
	}
	if len(data) > t.MaxPayload() {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(data), t.MaxPayload())
	}
	if t.host.delay != nil {
		// Published later on the host's context: the caller's may be gone by then.
		queued := t.host.delay.push(func() {
			if err := t.publishNow(t.host.ctx, data); err != nil {
				t.host.log.Debug("delayed publish failed", "topic", t.name, "err", err)
			}
		})
		if !queued {
			return fmt.Errorf("%w: publishing on %s (send delay)", ErrQueueFull, t.name)
		}
		return nil
	}
	return t.publishNow(ctx, data)
}

func (t *gossipTopic) publishNow(ctx context.Context, data []byte) error {
	if err := t.t.Publish(ctx, data); err != nil {
		return fmt.Errorf("p2p: publishing on %s: %w", t.name, err)
	}
	t.host.traffic.gossipOut.Add(int64(len(data)))
	return nil
}

// NextMessage blocks until the next validated message (including this host's own publishes) or until
// ctx ends. Messages are delivered in arrival order; if the caller falls more than
// GossipConfig.SubscriptionBuffer messages behind, gossipsub drops the excess.
func (t *gossipTopic) NextMessage(ctx context.Context) (Message, error) {
	m, err := t.sub.Next(ctx)
	if err != nil {
		if t.closed.Load() {
			return Message{}, ErrTopicClosed
		}
		return Message{}, err
	}
	local := m.ReceivedFrom == t.host.h.ID()
	if !local {
		t.host.traffic.gossipIn.Add(int64(len(m.GetData())))
	}
	return Message{From: m.ReceivedFrom, Data: m.GetData(), Decoded: m.ValidatorData, Local: local}, nil
}

// Next is NextMessage reduced to the forwarding peer and the decoded value.
func (t *gossipTopic) Next(ctx context.Context) (from peer.ID, decoded any, err error) {
	m, err := t.NextMessage(ctx)
	return m.From, m.Decoded, err
}

// Peers lists the peers known to subscribe to the topic.
func (t *gossipTopic) Peers() []peer.ID { return t.t.ListPeers() }

// Rejects counts rejected messages by reason.
func (t *gossipTopic) Rejects() *ReasonCounter { return t.rejects }

// Ignores counts ignored messages by reason.
func (t *gossipTopic) Ignores() *ReasonCounter { return t.ignores }

// Close leaves the topic.
func (t *gossipTopic) Close() error {
	if !t.closed.CompareAndSwap(false, true) {
		return nil
	}
	t.host.mu.Lock()
	delete(t.host.topics, t.name)
	t.host.mu.Unlock()
	return t.abandon()
}

// abandon cancels the subscription, unregisters the validator and closes the pubsub topic.
func (t *gossipTopic) abandon() error {
	if t.sub != nil {
		t.sub.Cancel()
	}
	err := t.host.ps.UnregisterTopicValidator(t.name)
	if t.t != nil {
		err = errors.Join(err, t.t.Close())
	}
	return err
}

// ReasonCounter counts events by reason, for metrics.
type ReasonCounter struct {
	mu     sync.Mutex
	counts map[string]uint64
	total  atomic.Uint64
}

func newReasonCounter() *ReasonCounter { return &ReasonCounter{counts: map[string]uint64{}} }

// NewReasonCounter returns an empty counter (for other implementations of Network, such as memnet).
func NewReasonCounter() *ReasonCounter { return newReasonCounter() }

// Add counts one event with the given reason ("" is counted as "unspecified").
func (c *ReasonCounter) Add(reason string) {
	if reason == "" {
		reason = "unspecified"
	}
	c.mu.Lock()
	c.counts[reason]++
	c.mu.Unlock()
	c.total.Add(1)
}

// Total is the number of events counted.
func (c *ReasonCounter) Total() uint64 { return c.total.Load() }

// Snapshot returns a copy of the counts by reason.
func (c *ReasonCounter) Snapshot() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}
