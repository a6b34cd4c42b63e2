package p2p

import (
	"slices"
	"strings"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Gossipsub keeps state for every topic any connected peer says it subscribes to (about 400 bytes a
// topic), whether or not this host cares about the topic: without a filter one outsider subscribing to
// a million random topics costs every peer it reaches hundreds of megabytes. subFilter decides which
// subscriptions are tracked:
//
//   - never a topic outside ProtocolPrefix;
//   - in allowlist mode (GossipConfig.Topics or AllowTopics), only the allowlisted topics and those
//     this host has joined (a topic once joined stays allowed, so a peer's subscription announced while
//     this host is between leaving and rejoining a topic is not lost);
//   - otherwise any topic under the prefix;
//   - in both, at most MaxTopicsPerPeer topics per peer besides the joined and allowlisted ones, and
//     MaxSubscriptionsPerRPC entries per RPC.
//
// A peer that goes over a cap, or that keeps naming topics that are not tracked (MaxTopicsPerPeer of
// them for each report), is reported as invalid input, which graylists and then blocks an untrusted
// peer (abuse.go). Gossipsub only tells a peer's subscriptions once, when they connect or change, so
// topics a host will join later must be allowed before it connects to anyone: that is why allowlist
// mode is opt-in and should be set at start with the run's topics.
type subFilter struct {
	h      *Host
	prefix string // ProtocolPrefix + "/"

	mu      sync.Mutex
	strict  bool
	allowed map[string]struct{} // full topic names
	peers   map[peer.ID]*peerSubs
}

type peerSubs struct {
	topics  map[string]struct{}
	unknown int // subscriptions to topics not tracked
}

var _ pubsub.SubscriptionFilter = (*subFilter)(nil)

func newSubFilter(h *Host) *subFilter {
	f := &subFilter{h: h, prefix: h.opts.ProtocolPrefix + "/", allowed: map[string]struct{}{},
		peers: map[peer.ID]*peerSubs{}}
	if len(h.opts.Gossip.Topics) > 0 {
		f.allow(true, h.opts.Gossip.Topics...)
	}
	return f
}

// allow adds topic names (relative to the prefix); strict switches to allowlist mode.
func (f *subFilter) allow(strict bool, names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.strict = f.strict || strict
	for _, n := range names {
		f.allowed[f.prefix+n] = struct{}{}
	}
}

// CanSubscribe implements pubsub.SubscriptionFilter (it is also asked when this host joins a topic).
func (f *subFilter) CanSubscribe(topic string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.canLocked(topic)
}

func (f *subFilter) canLocked(topic string) bool {
	if _, ok := f.allowed[topic]; ok {
		return true
	}
	return !f.strict && strings.HasPrefix(topic, f.prefix) && len(topic) > len(f.prefix)
}

// FilterIncomingSubscriptions implements pubsub.SubscriptionFilter. It runs on gossipsub's event loop.
func (f *subFilter) FilterIncomingSubscriptions(from peer.ID, subs []*pb.RPC_SubOpts) ([]*pb.RPC_SubOpts, error) {
	g := f.h.opts.Gossip
	if f.h.gater.IsBlocked(from) {
		return nil, pubsub.ErrTooManySubscriptions
	}
	if len(subs) > g.MaxSubscriptionsPerRPC {
		f.h.invalid(InvalidInput{Peer: from, Protocol: "gossipsub", Reason: ReasonSubscriptionFlood}, true)
		return nil, pubsub.ErrTooManySubscriptions
	}
	subs = dedupSubs(subs)
	var (
		out            []*pb.RPC_SubOpts
		flood, unknown bool
	)
	f.mu.Lock()
	ps := f.peers[from]
	for _, sub := range subs {
		t := sub.GetTopicid()
		if !f.canLocked(t) {
			if sub.GetSubscribe() {
				if ps == nil {
					ps = &peerSubs{topics: map[string]struct{}{}}
					f.peers[from] = ps
				}
				if ps.unknown++; ps.unknown%g.MaxTopicsPerPeer == 0 {
					unknown = true
				}
			}
			continue
		}
		if ps == nil {
			ps = &peerSubs{topics: map[string]struct{}{}}
			f.peers[from] = ps
		}
		_, known := ps.topics[t]
		switch {
		case !sub.GetSubscribe():
			if known {
				delete(ps.topics, t)
				out = append(out, sub)
			}
		case known:
			out = append(out, sub)
		case len(ps.topics) >= g.MaxTopicsPerPeer && !f.explicitLocked(t):
			flood = true
		default:
			ps.topics[t] = struct{}{}
			out = append(out, sub)
		}
	}
	f.mu.Unlock()
	if flood {
		f.h.invalid(InvalidInput{Peer: from, Protocol: "gossipsub", Reason: ReasonSubscriptionFlood}, true)
	}
	if unknown {
		f.h.invalid(InvalidInput{Peer: from, Protocol: "gossipsub", Reason: ReasonUnknownTopics}, true)
	}
	return out, nil
}

// explicitLocked: t is joined or allowlisted, so tracked beyond MaxTopicsPerPeer (the allowlist is
// this host's own and small).
func (f *subFilter) explicitLocked(t string) bool {
	_, ok := f.allowed[t]
	return ok
}

// dedupSubs keeps the last entry for each topic, in the order of the RPC (pubsub.FilterSubscriptions
// returns them in map order, which would make the per-peer cap keep a random subset). A subscribe and
// an unsubscribe of one topic in one RPC cancel out, as in pubsub.FilterSubscriptions.
func dedupSubs(subs []*pb.RPC_SubOpts) []*pb.RPC_SubOpts {
	idx := make(map[string]int, len(subs))
	out := make([]*pb.RPC_SubOpts, 0, len(subs))
	for _, s := range subs {
		t := s.GetTopicid()
		i, ok := idx[t]
		switch {
		case !ok:
			idx[t] = len(out)
			out = append(out, s)
		case out[i] != nil && out[i].GetSubscribe() != s.GetSubscribe():
			out[i] = nil
		}
	}
	return slices.DeleteFunc(out, func(s *pb.RPC_SubOpts) bool { return s == nil })
}

// forget drops what the filter knows of p (gossipsub dropped p's topic state too).
func (f *subFilter) forget(p peer.ID) {
	f.mu.Lock()
	delete(f.peers, p)
	f.mu.Unlock()
}

// tracked is how many topics the filter tracks for p.
func (f *subFilter) tracked(p peer.ID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ps := f.peers[p]; ps != nil {
		return len(ps.topics)
	}
	return 0
}

// subTracer tells the filter when gossipsub drops a peer's topic state (the peer died or was
// blacklisted), and the host when gossipsub or a topic validator rejects a message a peer forwarded
// (abuse.go charges an untrusted one); every other event is ignored.
type subTracer struct{ f *subFilter }

// RejectMessage charges the forwarder of a message rejected as invalid. Ignored messages, throttling,
// full queues and messages from blacklisted peers say nothing against the forwarder.
func (t subTracer) RejectMessage(m *pubsub.Message, reason string) {
	switch reason {
	case pubsub.RejectValidationFailed, pubsub.RejectInvalidSignature, pubsub.RejectMissingSignature,
		pubsub.RejectUnexpectedSignature, pubsub.RejectUnexpectedAuthInfo, pubsub.RejectSelfOrigin:
		t.f.h.gossipRejected(m.ReceivedFrom)
	}
}

var _ pubsub.RawTracer = subTracer{}

func (t subTracer) OnClosedOutboundStream(p peer.ID)                   { t.f.forget(p) }
func (subTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (subTracer) Join(string)                                          {}
func (subTracer) Leave(string)                                         {}
func (subTracer) Graft(peer.ID, string)                                {}
func (subTracer) Prune(peer.ID, string)                                {}
func (subTracer) ValidateMessage(*pubsub.Message)                      {}
func (subTracer) DeliverMessage(*pubsub.Message)                       {}
func (subTracer) DuplicateMessage(*pubsub.Message)                     {}
func (subTracer) ThrottlePeer(peer.ID)                                 {}
func (subTracer) RecvRPC(*pubsub.RPC)                                  {}
func (subTracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (subTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (subTracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (subTracer) UndeliverableMessage(*pubsub.Message)                 {}

// AllowTopics switches gossip subscription tracking to an allowlist (see GossipConfig.Topics) and adds
// names (as given to JoinTopic) to it. Call it before connecting to anyone, with every topic the host
// will join: a peer's subscriptions to topics not allowed when it connects are not learnt later.
func (h *Host) AllowTopics(names ...string) {
	h.subs.allow(true, names...)
}

// TrackedTopics is how many topics gossipsub tracks for peer p (at most GossipConfig.MaxTopicsPerPeer
// besides the topics this host joined or allowlisted).
func (h *Host) TrackedTopics(p peer.ID) int { return h.subs.tracked(p) }
