package p2p

import (
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
)

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

// BlockPeerFor cuts p off like BlockPeer, for d only.
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

	mu      sync.Mutex
	peers   map[peer.ID]*offences
	sweepAt int
}

// offences are a peer's recent invalid inputs: the times of the last few, oldest first.
type offences struct{ times []time.Time }

func newAbuseState() abuseState {
	return abuseState{reasons: newReasonCounter(), peers: map[peer.ID]*offences{}, sweepAt: 1024}
}

// invalid records in and acts on it: counts it, calls the hook (if callHook), and blocks an untrusted
// peer that crossed the threshold.
func (h *Host) invalid(in InvalidInput, callHook bool) {
	h.abuse.reasons.Add(in.Reason)
	h.log.Debug("invalid input", "peer", in.Peer, "protocol", in.Protocol, "reason", in.Reason)
	if callHook {
		if f := h.abuse.hook.Load(); f != nil {
			(*f)(in)
		}
	}
	if in.Peer == "" || in.Peer == h.h.ID() {
		return
	}
	n := h.recordOffence(in.Peer, time.Now())
	a := h.opts.Abuse
	if a.InvalidThreshold < 0 || n < a.InvalidThreshold || h.Trusted(in.Peer) || h.gater.IsBlocked(in.Peer) {
		return
	}
	h.log.Info("blocking peer for invalid input", "peer", in.Peer, "count", n, "within", a.InvalidWindow,
		"last", in.Reason, "for", a.BlockFor)
	// Not on this goroutine: it may be gossipsub's event loop, which BlacklistPeer waits for.
	h.spawn(func() { h.BlockPeerFor(in.Peer, a.BlockFor) })
}

// recordOffence notes an offence by p at now and returns how many p committed within the window.
func (h *Host) recordOffence(p peer.ID, now time.Time) int {
	s := &h.abuse
	window := h.opts.Abuse.InvalidWindow
	keep := max(h.opts.Abuse.InvalidThreshold, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.peers[p]
	if !ok {
		if len(s.peers) >= s.sweepAt {
			for q, oq := range s.peers {
				if oq.recent(now, window) == 0 {
					delete(s.peers, q)
				}
			}
			s.sweepAt = max(1024, 2*len(s.peers))
		}
		o = &offences{}
		s.peers[p] = o
	}
	o.times = append(o.times, now)
	if len(o.times) > keep {
		o.times = append(o.times[:0], o.times[len(o.times)-keep:]...)
	}
	return o.recent(now, window)
}

// recentOffences is how many invalid inputs p sent within the window.
func (h *Host) recentOffences(p peer.ID) int {
	s := &h.abuse
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.peers[p]
	if !ok {
		return 0
	}
	return o.recent(time.Now(), h.opts.Abuse.InvalidWindow)
}

func (o *offences) recent(now time.Time, window time.Duration) int {
	n := 0
	for _, t := range o.times {
		if now.Sub(t) < window {
			n++
		}
	}
	return n
}

// appScore is gossipsub's application-specific score: minus appScoreWeight per recent invalid input of
// an untrusted peer.
func (h *Host) appScore(p peer.ID) float64 {
	n := h.recentOffences(p)
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
