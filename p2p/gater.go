package p2p

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Gater is the set of blocked peers. It is three things at once, so one BlockPeer call cuts a peer off
// everywhere: a libp2p connection gater (refuses dials and handshakes with blocked peers on hosts
// created by New), a gossipsub blacklist (drops their messages and streams), and the check every stream
// handler makes. node uses it to ban equivocators; testnets use it to make partitions; the host blocks
// peers for a while after repeated invalid input (BlockFor).
//
// On hosts created by New it also limits the rate of new inbound connections from untrusted peers per
// IP range (AbuseConfig.NewConnRate), so a flood of fresh identities from one network degrades into a
// trickle instead of filling the connection table.
type Gater struct {
	mu sync.RWMutex
	// blocked maps a peer to the end of its block; the zero time blocks it until Unblock.
	blocked map[peer.ID]time.Time

	conns   *prefixLimiter                     // nil: no new-connection limit
	trusted atomic.Pointer[func(peer.ID) bool] // exempt from the new-connection limit
}

// NewGater returns an empty gater.
func NewGater() *Gater { return &Gater{blocked: map[peer.ID]time.Time{}} }

// Block adds p until Unblock; it reports whether p was not blocked before. The empty ID is never
// blocked (gossipsub asks about it for author-less messages).
func (g *Gater) Block(p peer.ID) bool {
	if p == "" {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.blockedLocked(p, time.Now())
	g.blocked[p] = time.Time{}
	return !was
}

// BlockFor blocks p for d (a permanent block stays permanent; a longer temporary block stays longer);
// it reports whether p was not blocked before.
func (g *Gater) BlockFor(p peer.ID, d time.Duration) bool {
	if p == "" || d <= 0 {
		return false
	}
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.blockedLocked(p, now)
	until, ok := g.blocked[p]
	if ok && was && (until.IsZero() || until.After(now.Add(d))) {
		return false
	}
	g.blocked[p] = now.Add(d)
	return !was
}

func (g *Gater) blockedLocked(p peer.ID, now time.Time) bool {
	until, ok := g.blocked[p]
	return ok && (until.IsZero() || now.Before(until))
}

// Unblock removes p; it reports whether p was blocked.
func (g *Gater) Unblock(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.blockedLocked(p, time.Now())
	delete(g.blocked, p)
	return was
}

// IsBlocked reports whether p is blocked.
func (g *Gater) IsBlocked(p peer.ID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.blockedLocked(p, time.Now())
}

// Blocked lists the blocked peers, sorted (expired temporary blocks are dropped).
func (g *Gater) Blocked() []peer.ID {
	now := time.Now()
	g.mu.Lock()
	out := make([]peer.ID, 0, len(g.blocked))
	for p := range g.blocked {
		if g.blockedLocked(p, now) {
			out = append(out, p)
		} else {
			delete(g.blocked, p)
		}
	}
	g.mu.Unlock()
	slices.Sort(out)
	return out
}

// Add implements pubsub.Blacklist; pubsub calls it from PubSub.BlacklistPeer. A peer already blocked
// (for a while, by BlockFor) keeps its block as it is.
func (g *Gater) Add(p peer.ID) bool {
	if !g.IsBlocked(p) {
		g.Block(p)
	}
	return true
}

// Contains implements pubsub.Blacklist.
func (g *Gater) Contains(p peer.ID) bool { return g.IsBlocked(p) }

// InterceptPeerDial implements connmgr.ConnectionGater.
func (g *Gater) InterceptPeerDial(p peer.ID) bool { return !g.IsBlocked(p) }

// InterceptAddrDial implements connmgr.ConnectionGater.
func (g *Gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.IsBlocked(p) }

// InterceptAccept implements connmgr.ConnectionGater; the peer is not known yet at this point.
func (g *Gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured implements connmgr.ConnectionGater: blocked peers are refused, and so are inbound
// connections from untrusted peers beyond the new-connection rate of their IP range.
func (g *Gater) InterceptSecured(dir network.Direction, p peer.ID, addrs network.ConnMultiaddrs) bool {
	if g.IsBlocked(p) {
		return false
	}
	return dir != network.DirInbound || g.admitInbound(p, addrs.RemoteMultiaddr())
}

// InterceptUpgraded implements connmgr.ConnectionGater.
func (g *Gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// admitInbound takes a token from the bucket of remote's IP range unless p is trusted.
func (g *Gater) admitInbound(p peer.ID, remote ma.Multiaddr) bool {
	if g.conns == nil {
		return true
	}
	if f := g.trusted.Load(); f != nil && (*f)(p) {
		return true
	}
	return g.conns.allow(remote, time.Now())
}

// prefixLimiter is a token bucket per IPv4 /24 and IPv6 /48, with exempt networks.
type prefixLimiter struct {
	rate   float64 // tokens per second
	burst  float64
	exempt []netip.Prefix

	mu      sync.Mutex
	buckets map[netip.Prefix]*bucket
	sweepAt int // sweep full buckets when the map grows past this
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newPrefixLimiter(rate float64, burst int, exempt []netip.Prefix) *prefixLimiter {
	return &prefixLimiter{rate: rate, burst: float64(burst), exempt: exempt,
		buckets: map[netip.Prefix]*bucket{}, sweepAt: 1024}
}

// rangeOf is the IP range a connection from a counts against, and false for addresses without an IP
// (those are not limited here; the resource manager still is).
func rangeOf(a ma.Multiaddr) (netip.Addr, netip.Prefix, bool) {
	if a == nil {
		return netip.Addr{}, netip.Prefix{}, false
	}
	nip, err := manet.ToIP(a)
	if err != nil {
		return netip.Addr{}, netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(nip)
	if !ok {
		return netip.Addr{}, netip.Prefix{}, false
	}
	ip = ip.Unmap()
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	pfx, _ := ip.Prefix(bits)
	return ip, pfx, true
}

func (l *prefixLimiter) allow(remote ma.Multiaddr, now time.Time) bool {
	ip, pfx, ok := rangeOf(remote)
	if !ok {
		return true
	}
	for _, e := range l.exempt {
		if e.Contains(ip) {
			return true
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[pfx]
	if !ok {
		if len(l.buckets) >= l.sweepAt {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[pfx] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep forgets buckets that have refilled (they are the same as new ones), and raises the bar for
// the next sweep if most are still in use, so sweeping stays amortised O(1).
func (l *prefixLimiter) sweep(now time.Time) {
	for p, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, p)
		}
	}
	l.sweepAt = max(1024, 2*len(l.buckets))
}
