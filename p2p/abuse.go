package p2p

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Hostile input costs the peer that sends it. Everything this package can prove invalid — a frame
// above its cap, a malformed or truncated frame, a stream that stalls past its deadline, a gossip
// subscription flood — is an InvalidInput: counted by reason, handed to the hook set with
// OnInvalidInput (so node can blame a member), and recorded against the peer. An untrusted peer with
// AbuseConfig.InvalidThreshold invalid inputs within InvalidWindow is blocked for BlockFor and
// disconnected; before that, each recent invalid input lowers its gossipsub score (appScoreWeight), so
// gossip graylists it early. Trusted peers (SetTrusted: the run's members) are only reported: what to
// do about a member is the protocol's decision, not the transport's.
//
// Two more things count against untrusted peers only, without the hook (they say nothing a member
// could be blamed for): a stream refused before it is read — by the Allow option, or beyond the
// per-peer bounds — because holding or reopening refused streams is how a slowloris outsider ties up
// a host without ever sending a bad frame; and a gossip message that gossipsub or a topic validator
// rejected, which weighs a third of the threshold, so three (gossipsub's own graylisting point) block
// a fresh identity that publishes forgeries. Refusals at the global inbound bound are not counted:
// an honest newcomer meets them during someone else's flood. A host's block of an untrusted peer
// lapses if the peer becomes trusted (see Gater), so a newcomer refused by a member that did not yet
// know it was admitted is not cut off for long.
//
// The same offences count against the sender's IP range (IPv4 /24, IPv6 /48) too: at rangeFactor
// times InvalidThreshold within InvalidWindow, the range is blocked for BlockFor — its untrusted
// peers are cut off and new connections from them refused — so fresh identities from one network
// get only a bounded number of offences in all before the whole network pays (a Sybil flood degrades
// into nothing), while members from that range, being trusted, are not touched.

// InvalidInput is one piece of provably invalid input from a remote peer.
type InvalidInput struct {
	Peer peer.ID
	// Protocol is the stream protocol name as given to Handle or HandleDirect (e.g. "direct/1"), or
	// "gossipsub".
	Protocol string
	// Reason is one of a few fixed strings: "too-large", "malformed", "truncated", "empty",
	// "timeout", "subscription-flood", "unknown-topics", or what a ReportInvalid caller passed.
	Reason string
}

// Invalid-input reasons found by this package.
const (
	ReasonTooLarge          = "too-large"
	ReasonMalformed         = "malformed"
	ReasonTruncated         = "truncated"
	ReasonEmpty             = "empty"
	ReasonTimeout           = "timeout"
	ReasonSubscriptionFlood = "subscription-flood"
	ReasonUnknownTopics     = "unknown-topics"
	// ReasonRefused: a stream of an untrusted peer refused unread (Allow, or the per-peer bounds).
	ReasonRefused = "refused"
	// ReasonGossipRejected: a gossip message from an untrusted peer was rejected.
	ReasonGossipRejected = "gossip-rejected"
)

// rangeFactor: an IP range is blocked at this many times AbuseConfig.InvalidThreshold offences of its
// untrusted peers within the window (four identities' worth).
const rangeFactor = 4

// gossipRejectShare: a rejected gossip message weighs 1/gossipRejectShare of InvalidThreshold.
const gossipRejectShare = 3

// appScoreWeight is what each invalid input within the window subtracts from an untrusted peer's
// gossipsub score: five put it below GraylistThreshold.
const appScoreWeight = -20

// OnInvalidInput sets f to be called with every invalid input a remote peer sends (see InvalidInput),
// on the goroutine that found it — a stream reader or gossipsub's event loop — so f must be quick and
// must not block or call back into the host synchronously. nil removes the hook.
func (h *Host) OnInvalidInput(f func(InvalidInput)) {
	if f == nil {
		h.abuse.hook.Store(nil)
		return
	}
	h.abuse.hook.Store(&f)
}

// ReportInvalid records invalid input the caller found in something this package delivered (an
// undecodable direct message, a request a handler could not parse): it is counted by reason and
// counts toward blocking untrusted peers like this package's own findings. The OnInvalidInput hook is
// not called (the caller knows already).
func (h *Host) ReportInvalid(p peer.ID, protocol, reason string) {
	h.invalid(InvalidInput{Peer: p, Protocol: protocol, Reason: reason}, false)
}

// InvalidInputs counts invalid input by reason, for metrics.
func (h *Host) InvalidInputs() *ReasonCounter { return h.abuse.reasons }

// SetTrusted sets which peers are trusted: the run's members. Trusted peers are never blocked
// automatically, never penalised in gossip scores for invalid input and never limited as new inbound
// connections; their invalid input is still reported to the OnInvalidInput hook. f must be fast and
// safe for concurrent use; nil (the default) trusts only peers marked with Protect.
func (h *Host) SetTrusted(f func(peer.ID) bool) {
	if f == nil {
		h.abuse.trusted.Store(nil)
		return
	}
	h.abuse.trusted.Store(&f)
}

// Trusted reports whether p is trusted (SetTrusted, or marked with Protect).
func (h *Host) Trusted(p peer.ID) bool {
	if f := h.abuse.trusted.Load(); f != nil && (*f)(p) {
		return true
	}
	return h.h.ConnManager().IsProtected(p, protectTag)
}

// BlockPeerFor cuts p off like BlockPeer, for d only (trusted or not).
func (h *Host) BlockPeerFor(p peer.ID, d time.Duration) {
	if h.gater.BlockFor(p, d) {
		h.log.Info("blocked peer for a while", "peer", p, "for", d)
	}
	h.ps.BlacklistPeer(p) // the Gater keeps the block temporary (see Gater.Add)
	_ = h.h.Network().ClosePeer(p)
}

// abuseState is the host's record of invalid input.
type abuseState struct {
	hook    atomic.Pointer[func(InvalidInput)]
	trusted atomic.Pointer[func(peer.ID) bool]
	reasons *ReasonCounter

	mu     sync.Mutex
	peers  offenceLog[peer.ID]
	ranges offenceLog[netip.Prefix]
}

func newAbuseState() abuseState {
	return abuseState{reasons: newReasonCounter(), peers: newOffenceLog[peer.ID](),
		ranges: newOffenceLog[netip.Prefix]()}
}

// invalid records in and acts on it: counts it, calls the hook (if callHook), and charges the peer
// (see offend).
func (h *Host) invalid(in InvalidInput, callHook bool) {
	h.abuse.reasons.Add(in.Reason)
	h.log.Debug("invalid input", "peer", in.Peer, "protocol", in.Protocol, "reason", in.Reason)
	if callHook {
		if f := h.abuse.hook.Load(); f != nil {
			(*f)(in)
		}
	}
	h.offend(in.Peer, in.Reason, 1, false)
}

// refused charges an untrusted peer for a stream refused unread (not reported to the hook).
func (h *Host) refused(p peer.ID, protocol string) {
	if h.Trusted(p) {
		return
	}
	h.abuse.reasons.Add(ReasonRefused)
	h.log.Debug("stream refused", "peer", p, "protocol", protocol)
	h.offend(p, ReasonRefused, 1, false)
}

// gossipRejected charges an untrusted peer for a gossip message it forwarded that was rejected.
func (h *Host) gossipRejected(p peer.ID) {
	if h.Trusted(p) {
		return
	}
	h.abuse.reasons.Add(ReasonGossipRejected)
	t := h.opts.Abuse.InvalidThreshold
	h.offend(p, ReasonGossipRejected, max(1, (t+gossipRejectShare-1)/gossipRejectShare), true)
}

// offend records weight offences of p (gossip: for a rejected gossip message) and, unless p is
// trusted or blocked already, of p's IP range; it blocks an untrusted p, or its range, that crossed
// its threshold. This host's own input is never charged.
func (h *Host) offend(p peer.ID, reason string, weight int, gossip bool) {
	a := h.opts.Abuse
	if p == "" || p == h.h.ID() {
		return
	}
	now := time.Now()
	h.abuse.mu.Lock()
	n := h.abuse.peers.add(p, now, weight, gossip, a.InvalidWindow, max(a.InvalidThreshold, 1))
	h.abuse.mu.Unlock()
	if a.InvalidThreshold < 0 || h.Trusted(p) || h.gater.IsBlocked(p) {
		return
	}
	if pfx, ok := h.rangeOfPeer(p); ok {
		h.abuse.mu.Lock()
		r := h.abuse.ranges.add(pfx, now, weight, gossip, a.InvalidWindow, rangeFactor*a.InvalidThreshold)
		h.abuse.mu.Unlock()
		if r >= rangeFactor*a.InvalidThreshold && h.gater.blockRange(pfx, now.Add(a.BlockFor)) {
			h.log.Info("blocking an IP range for its peers' invalid input", "range", pfx, "count", r,
				"within", a.InvalidWindow, "last", reason, "peer", p, "for", a.BlockFor)
			h.spawn(func() { h.cutOffRange(pfx) })
		}
	}
	if n < a.InvalidThreshold {
		return
	}
	h.log.Info("blocking peer for invalid input", "peer", p, "count", n, "within", a.InvalidWindow,
		"last", reason, "for", a.BlockFor)
	// Not on this goroutine: it may be gossipsub's event loop, which BlacklistPeer waits for.
	h.spawn(func() { h.cutOffUntrusted(p) })
}

// cutOffUntrusted blocks p for AbuseConfig.BlockFor (a block that lapses if p becomes trusted) and
// closes its connections.
func (h *Host) cutOffUntrusted(p peer.ID) {
	h.gater.blockUntrusted(p, h.opts.Abuse.BlockFor)
	h.ps.BlacklistPeer(p) // the Gater keeps the block as it is (see Gater.Add)
	_ = h.h.Network().ClosePeer(p)
}

// cutOffRange cuts off every untrusted peer connected from IP range pfx.
func (h *Host) cutOffRange(pfx netip.Prefix) {
	seen := map[peer.ID]bool{}
	for _, c := range h.h.Network().Conns() {
		p := c.RemotePeer()
		if seen[p] {
			continue
		}
		if _, q, ok := rangeOf(c.RemoteMultiaddr()); ok && q == pfx && !h.Trusted(p) {
			seen[p] = true
			h.cutOffUntrusted(p)
		}
	}
}

// rangeOfPeer is the IP range of p's first open connection.
func (h *Host) rangeOfPeer(p peer.ID) (netip.Prefix, bool) {
	for _, c := range h.h.Network().ConnsToPeer(p) {
		if _, pfx, ok := rangeOf(c.RemoteMultiaddr()); ok {
			return pfx, true
		}
	}
	return netip.Prefix{}, false
}

// offenceLog keeps, per key, the last few offences, oldest first; keys with none recent are swept as
// the map grows, so it stays amortised O(1) per offence.
type offenceLog[K comparable] struct {
	byKey   map[K]*offences
	sweepAt int
}

func newOffenceLog[K comparable]() offenceLog[K] {
	return offenceLog[K]{byKey: map[K]*offences{}, sweepAt: 1024}
}

// add notes weight offences by k at now (gossip: a rejected gossip message), keeping at most keep,
// and returns how many k committed within the window.
func (l *offenceLog[K]) add(k K, now time.Time, weight int, gossip bool, window time.Duration, keep int) int {
	o, ok := l.byKey[k]
	if !ok {
		if len(l.byKey) >= l.sweepAt {
			for q, oq := range l.byKey {
				if oq.recent(now, window, true) == 0 {
					delete(l.byKey, q)
				}
			}
			l.sweepAt = max(1024, 2*len(l.byKey))
		}
		o = &offences{}
		l.byKey[k] = o
	}
	for range min(weight, keep) {
		o.list = append(o.list, offence{at: now, gossip: gossip})
	}
	if len(o.list) > keep {
		o.list = append(o.list[:0], o.list[len(o.list)-keep:]...)
	}
	return o.recent(now, window, true)
}

// offences are recent invalid inputs, oldest first.
type offences struct{ list []offence }

type offence struct {
	at     time.Time
	gossip bool // a rejected gossip message (gossipsub's own score already counts it)
}

// recentOffences is how many invalid inputs p sent within the window, rejected gossip messages
// included or not.
func (h *Host) recentOffences(p peer.ID, gossip bool) int {
	s := &h.abuse
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.peers.byKey[p]
	if !ok {
		return 0
	}
	return o.recent(time.Now(), h.opts.Abuse.InvalidWindow, gossip)
}

func (o *offences) recent(now time.Time, window time.Duration, gossip bool) int {
	n := 0
	for _, f := range o.list {
		if now.Sub(f.at) < window && (gossip || !f.gossip) {
			n++
		}
	}
	return n
}

// appScore is gossipsub's application-specific score: minus appScoreWeight per recent invalid input of
// an untrusted peer, besides rejected gossip messages (gossipsub's invalid-delivery penalty has them).
func (h *Host) appScore(p peer.ID) float64 {
	n := h.recentOffences(p, false)
	if n == 0 || h.Trusted(p) {
		return 0
	}
	return float64(n * appScoreWeight)
}

// spawn runs f on a goroutine counted in h.wg, unless the host is shutting down.
func (h *Host) spawn(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.wg.Go(f)
}
