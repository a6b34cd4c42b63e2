package p2p

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/discovery"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
)

// Discovery timing: the loop looks for peers quickly at first, then settles to once a minute.
const (
	discoveryFirstDelay = 2 * time.Second
	discoveryMaxDelay   = time.Minute
	discoveryConnect    = 10 * time.Second
	discoveryLimit      = 100
)

// startDHT runs a Kademlia DHT under the protocol prefix (so byzpp peers form their own DHT rather than
// joining IPFS's) and a loop that advertises the rendezvous string and connects to peers found under it.
func (h *Host) startDHT(cfg Config) error {
	mode := dht.ModeAutoServer
	if cfg.DHTServer {
		mode = dht.ModeServer
	}
	kad, err := dht.New(h.h,
		dht.Mode(mode),
		dht.ProtocolPrefix(protocol.ID(cfg.ProtocolPrefix)),
		dht.BootstrapPeers(h.bootstrap...),
	)
	if err != nil {
		return fmt.Errorf("p2p: starting DHT: %w", err)
	}
	h.dht = kad
	rd := drouting.NewRoutingDiscovery(kad)
	h.wg.Go(func() { h.discoveryLoop(rd, cfg.Rendezvous) })
	return nil
}

func (h *Host) discoveryLoop(rd *drouting.RoutingDiscovery, ns string) {
	var advertisedUntil time.Time
	delay := discoveryFirstDelay
	for {
		if h.dht.RoutingTable().Size() > 0 {
			if time.Now().After(advertisedUntil) {
				if ttl, err := rd.Advertise(h.ctx, ns); err != nil {
					h.log.Debug("DHT advertise failed", "err", err)
				} else {
					advertisedUntil = time.Now().Add(7 * ttl / 8)
				}
			}
			h.findPeers(rd, ns)
		}
		t := time.NewTimer(delay)
		select {
		case <-h.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, discoveryMaxDelay)
	}
}

func (h *Host) findPeers(rd *drouting.RoutingDiscovery, ns string) {
	ctx, cancel := context.WithTimeout(h.ctx, discoveryMaxDelay)
	defer cancel()
	found, err := rd.FindPeers(ctx, ns, discovery.Limit(discoveryLimit))
	if err != nil {
		h.log.Debug("DHT find peers failed", "err", err)
		return
	}
	for info := range found {
		h.connectFound(info, "dht")
	}
}

// connectFound connects to a discovered peer unless it is us, blocked, or already connected.
func (h *Host) connectFound(info peer.AddrInfo, source string) {
	if info.ID == h.h.ID() || len(info.Addrs) == 0 || h.gater.IsBlocked(info.ID) ||
		h.h.Network().Connectedness(info.ID) == network.Connected {
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, discoveryConnect)
	defer cancel()
	if err := h.ConnectPeer(ctx, info); err != nil {
		h.log.Debug("connecting to discovered peer failed", "peer", info.ID, "source", source, "err", err)
		return
	}
	h.log.Info("connected to discovered peer", "peer", info.ID, "source", source)
}

// mdnsNotifee queues peers found on the local network for a connecting goroutine, dropping them when
// the queue is full (they are announced again).
type mdnsNotifee chan peer.AddrInfo

func (n mdnsNotifee) HandlePeerFound(info peer.AddrInfo) {
	select {
	case n <- info:
	default:
	}
}

func (h *Host) startMDNS(cfg Config) error {
	found := make(mdnsNotifee, 64)
	svc := mdns.NewMdnsService(h.h, mdnsServiceName(cfg.Rendezvous), found)
	if err := svc.Start(); err != nil {
		return fmt.Errorf("p2p: starting mDNS: %w", err)
	}
	h.mdns = svc
	h.wg.Go(func() {
		for {
			select {
			case <-h.ctx.Done():
				return
			case info := <-found:
				h.connectFound(info, "mdns")
			}
		}
	})
	return nil
}

// mdnsServiceName turns the rendezvous string, which may hold any characters, into a DNS-SD service
// name: "_byzpp-<8 hex digits of its SHA-256>._udp" (DNS-SD service names are at most 15 characters).
func mdnsServiceName(rendezvous string) string {
	sum := sha256.Sum256([]byte(rendezvous))
	return "_byzpp-" + hex.EncodeToString(sum[:4]) + "._udp"
}
