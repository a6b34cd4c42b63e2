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
// trickle instead of filling the connection table, and it refuses untrusted peers from IP ranges the
// host blocked for their peers' invalid input (AbuseConfig.RangeThreshold).
//
// The host's own blocks of untrusted peers (for their invalid input) lapse when the peer becomes
// trusted: a newcomer that a slow member refused while it did not yet know the newcomer was admitted
// must not stay cut off once it does. Blocks by BlockPeer, BlockPeerFor and node never lapse so.
type Gater struct {
	mu      sync.RWMutex
	blocked map[peer.ID]block
	// ranges maps an IP range to the end of its block (untrusted peers from it are refused).
	ranges map[netip.Prefix]time.Time

	conns   *prefixLimiter                     // nil: no new-connection limit
	trusted atomic.Pointer[func(peer.ID) bool] // exempt from the new-connection limit and range blocks
}

// block is one peer's block.
type block struct {
	until time.Time // the zero time: until Unblock
	// untrusted: the block lapses while the peer is trusted (the host blocked it as an untrusted peer).
	untrusted bool
}

// NewGater returns an empty gater.
func NewGater() *Gater {
	return &Gater{blocked: map[peer.ID]block{}, ranges: map[netip.Prefix]time.Time{}}
}

// Block adds p until Unblock; it reports whether p was not blocked before. The empty ID is never
// blocked (gossipsub asks about it for author-less messages).
func (g *Gater) Block(p peer.ID) bool {
	if p == "" {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.blockedLocked(p, time.Now())
	g.blocked[p] = block{}
	return !was
}

// BlockFor blocks p for d (a permanent block stays permanent; a longer temporary block stays longer);
// it reports whether p was not blocked before.
func (g *Gater) BlockFor(p peer.ID, d time.Duration) bool { return g.blockFor(p, d, false) }

// blockUntrusted blocks p for d like BlockFor, but the block lapses while p is trusted (see Gater).
func (g *Gater) blockUntrusted(p peer.ID, d time.Duration) bool { return g.blockFor(p, d, true) }

func (g *Gater) blockFor(p peer.ID, d time.Duration, untrusted bool) bool {
	if p == "" || d <= 0 {
		return false
	}
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.blockedLocked(p, now)
	b, ok := g.blocked[p]
	if ok && was && (b.until.IsZero() || b.until.After(now.Add(d))) {
		if !untrusted {
			b.untrusted = false // BlockFor's block never lapses, however it began
			g.blocked[p] = b
		}
		return false
	}
	g.blocked[p] = block{until: now.Add(d), untrusted: untrusted && (!ok || !was || b.untrusted)}
	return !was
}

func (g *Gater) blockedLocked(p peer.ID, now time.Time) bool {
	b, ok := g.blocked[p]
	if !ok || (!b.until.IsZero() && !now.Before(b.until)) {
		return false
	}
	return !b.untrusted || !g.isTrusted(p)
}

// isTrusted asks the host's trust function (SetTrusted); without one nobody is trusted.
func (g *Gater) isTrusted(p peer.ID) bool {
	f := g.trusted.Load()
	return f != nil && (*f)(p)
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
	for p, b := range g.blocked {
		switch {
		case g.blockedLocked(p, now):
			out = append(out, p)
		case !b.until.IsZero() && !now.Before(b.until):
			delete(g.blocked, p) // expired (a lapsed block stays: the peer may stop being trusted)
		}
	}
	g.mu.Unlock()
	slices.Sort(out)
	return out
}

// Add implements pubsub.Blacklist; pubsub calls it from PubSub.BlacklistPeer, which the host calls
// right after blocking. A peer with a block of any kind keeps it as it is (a temporary block must not
// become permanent, nor a lapsing one stick); only a peer never blocked here is blocked until Unblock.
func (g *Gater) Add(p peer.ID) bool {
	g.mu.Lock()
	_, ok := g.blocked[p]
	g.mu.Unlock()
	if !ok {
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
// connections from untrusted peers from a blocked IP range or beyond the new-connection rate of theirs.
func (g *Gater) InterceptSecured(dir network.Direction, p peer.ID, addrs network.ConnMultiaddrs) bool {
	if g.IsBlocked(p) {
		return false
	}
	return dir != network.DirInbound || g.admitInbound(p, addrs.RemoteMultiaddr())
}

// InterceptUpgraded implements connmgr.ConnectionGater.
func (g *Gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// admitInbound refuses an untrusted p from a blocked IP range, and otherwise takes a token from the
// bucket of remote's range.
func (g *Gater) admitInbound(p peer.ID, remote ma.Multiaddr) bool {
	if g.isTrusted(p) {
		return true
	}
	now := time.Now()
	if _, pfx, ok := rangeOf(remote); ok && g.rangeBlocked(pfx, now) {
		return false
	}
	return g.conns == nil || g.conns.allow(remote, now)
}

// blockRange refuses untrusted peers from IP range pfx until until; it reports whether the range was
// not blocked before.
func (g *Gater) blockRange(pfx netip.Prefix, until time.Time) bool {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.rangeBlockedLocked(pfx, now)
	if !was && len(g.ranges) >= 1024 {
		for q, end := range g.ranges {
			if !now.Before(end) {
				delete(g.ranges, q)
			}
		}
	}
	if until.After(g.ranges[pfx]) {
		g.ranges[pfx] = until
	}
	return !was
}

func (g *Gater) rangeBlocked(pfx netip.Prefix, now time.Time) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.rangeBlockedLocked(pfx, now)
}

func (g *Gater) rangeBlockedLocked(pfx netip.Prefix, now time.Time) bool {
	end, ok := g.ranges[pfx]
	return ok && now.Before(end)
}

// BlockedRanges lists the IP ranges whose untrusted peers are refused now, sorted.
func (g *Gater) BlockedRanges() []netip.Prefix {
	now := time.Now()
	g.mu.RLock()
	var out []netip.Prefix
	for pfx, end := range g.ranges {
		if now.Before(end) {
			out = append(out, pfx)
		}
	}
	g.mu.RUnlock()
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return out
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
