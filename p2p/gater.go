package p2p

import (
	"slices"
	"sync"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Gater is the set of blocked peers. It is three things at once, so one BlockPeer call cuts a peer off
// everywhere: a libp2p connection gater (refuses dials and handshakes with blocked peers on hosts
// created by New), a gossipsub blacklist (drops their messages and streams), and the check every stream
// handler makes. node uses it to ban equivocators; testnets use it to make partitions.
type Gater struct {
	mu      sync.RWMutex
	blocked map[peer.ID]struct{}
}

// NewGater returns an empty gater.
func NewGater() *Gater { return &Gater{blocked: map[peer.ID]struct{}{}} }

// Block adds p; it reports whether p was not blocked before. The empty ID is never blocked (gossipsub
// asks about it for author-less messages).
func (g *Gater) Block(p peer.ID) bool {
	if p == "" {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.blocked[p]; ok {
		return false
	}
	g.blocked[p] = struct{}{}
	return true
}

// Unblock removes p; it reports whether p was blocked.
func (g *Gater) Unblock(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.blocked[p]
	delete(g.blocked, p)
	return ok
}

// IsBlocked reports whether p is blocked.
func (g *Gater) IsBlocked(p peer.ID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := g.blocked[p]
	return ok
}

// Blocked lists the blocked peers, sorted.
func (g *Gater) Blocked() []peer.ID {
	g.mu.RLock()
	out := make([]peer.ID, 0, len(g.blocked))
	for p := range g.blocked {
		out = append(out, p)
	}
	g.mu.RUnlock()
	slices.Sort(out)
	return out
}

// Add implements pubsub.Blacklist; pubsub calls it from PubSub.BlacklistPeer.
func (g *Gater) Add(p peer.ID) bool { g.Block(p); return true }

// Contains implements pubsub.Blacklist.
func (g *Gater) Contains(p peer.ID) bool { return g.IsBlocked(p) }

// InterceptPeerDial implements connmgr.ConnectionGater.
func (g *Gater) InterceptPeerDial(p peer.ID) bool { return !g.IsBlocked(p) }

// InterceptAddrDial implements connmgr.ConnectionGater.
func (g *Gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.IsBlocked(p) }

// InterceptAccept implements connmgr.ConnectionGater; the peer is not known yet at this point.
func (g *Gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured implements connmgr.ConnectionGater.
func (g *Gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.IsBlocked(p)
}

// InterceptUpgraded implements connmgr.ConnectionGater.
func (g *Gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
