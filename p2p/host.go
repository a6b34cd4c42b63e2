package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/x/rate"
	ma "github.com/multiformats/go-multiaddr"
)

// ErrAddrInUse: a listen address's port is taken.
var ErrAddrInUse = errors.New("p2p: listen address already in use")

// Host is a libp2p host running byzpp's services: gossip topics with validators and peer scoring,
// request/response streams, peer blocking, discovery and byte counters. Create one with New (a real
// host) or NewFromHost (any libp2p host, e.g. from mocknet in tests); both behave the same.
type Host struct {
	h      host.Host
	opts   Options
	log    *slog.Logger
	gater  *Gater
	bw     metrics.Reporter // nil for hosts made elsewhere
	ps     *pubsub.PubSub
	scores scoreBoard

	traffic           trafficCounters
	direct            directState
	inbound, outbound *peerSlots
	inboundAll        atomic.Int64 // inbound streams being served, against Stream.MaxInbound
	subs              *subFilter
	abuse             abuseState
	// gated: the Gater runs in the libp2p network (New); otherwise onConnected enforces it.
	gated bool

	delay *delayLine // nil unless Options.SendDelay > 0

	bootstrap []peer.AddrInfo
	dht       *dht.IpfsDHT
	mdns      io.Closer

	// ctx lives until Close; every background goroutine is tied to it and counted in wg.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	topics map[string]*gossipTopic
	closed bool

	closeOnce sync.Once
	closeErr  error
}

// New creates a libp2p host from cfg — Ed25519 identity, listeners, connection manager, resource
// manager, connection gater (the host's Gater), bandwidth reporter, optional NAT traversal — and starts
// byzpp's services on it. ctx bounds the setup only; the host runs until Close. New does not dial
// anyone: call Bootstrap to join the network.
func New(ctx context.Context, cfg Config) (*Host, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkPortsFree(cfg.ListenAddrs); err != nil {
		return nil, err
	}
	bootstrap, _ := parseBootstrap(cfg.Bootstrap) // validated above
	gater := NewGater()
	bw := cfg.Bandwidth
	if bw == nil {
		bw = metrics.NewBandwidthCounter()
	}
	cm, err := connmgr.NewConnManager(cfg.ConnLow, cfg.ConnHigh, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("p2p: connection manager: %w", err)
	}
	rm, err := newResourceManager(cfg)
	if err != nil {
		return nil, err
	}

	opts := []libp2p.Option{
		libp2p.Identity(cfg.Key),
		libp2p.ListenAddrStrings(cfg.ListenAddrs...),
		libp2p.ConnectionManager(cm),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionGater(gater),
		libp2p.BandwidthReporter(bw),
		libp2p.UserAgent("byzpp"),
	}
	if cfg.Metrics != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(cfg.Metrics))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	// The auto-relay peer source needs the host, which exists only after libp2p.New returns.
	var self atomic.Pointer[host.Host]
	if cfg.EnableNAT {
		opts = append(opts,
			libp2p.NATPortMap(),
			// AutoNAT: peers dial each other back so each learns whether it is reachable; without
			// a service to ask, a peer behind a NAT never learns it is private, so it never looks
			// for a relay (measured in testnet/netns).
			libp2p.EnableNATService(),
			libp2p.EnableAutoNATv2(),
			libp2p.EnableHolePunching(),
			libp2p.EnableRelay(),
			// Members relay for members behind NATs for as long as the run lasts: libp2p's default
			// relay limits (2 minutes, 128 KiB per connection) mark relayed connections "limited",
			// and protocol streams are not opened over those, so a member behind a NAT would hear
			// from its NATed peers only through catch-up (measured in testnet/netns: ~1 round/s).
			libp2p.EnableRelayService(relay.WithInfiniteLimits()),
			// The run's members are the relay candidates; libp2p's defaults (wait 3 minutes for
			// 4 candidates, back off an hour after a failure) suit the public IPFS network, not a
			// committee of a few peers that must all talk from the first rounds.
			libp2p.EnableAutoRelayWithPeerSource(relayCandidates(&self),
				autorelay.WithMinCandidates(1), autorelay.WithBootDelay(5*time.Second),
				autorelay.WithMinInterval(5*time.Second), autorelay.WithBackoff(time.Minute)),
		)
	}
	lh, err := libp2p.New(opts...)
	if err != nil {
		_ = rm.Close()
		if strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("%w: %v", ErrAddrInUse, err)
		}
		return nil, fmt.Errorf("p2p: starting libp2p: %w", err)
	}
	self.Store(&lh)
	// libp2p succeeds if any one listener works; byzpp wants every requested one.
	if got := len(lh.Network().ListenAddresses()); got < len(cfg.ListenAddrs) {
		_ = lh.Close()
		return nil, fmt.Errorf("%w: listening on %d of %v (see the log for which failed)",
			ErrAddrInUse, got, cfg.ListenAddrs)
	}

	h, err := attach(lh, cfg.Options, gater, bw, true, true)
	if err != nil {
		_ = lh.Close()
		return nil, err
	}
	h.bootstrap = bootstrap
	if cfg.EnableDHT {
		if err := h.startDHT(cfg); err != nil {
			_ = h.Close()
			return nil, err
		}
	}
	if cfg.EnableMDNS {
		if err := h.startMDNS(cfg); err != nil {
			_ = h.Close()
			return nil, err
		}
	}
	h.log.Info("p2p host started", "id", h.ID(), "addrs", h.Addrs())
	return h, nil
}

// NewFromHost starts byzpp's services on an existing libp2p host, which the returned Host then owns
// (Host.Close closes it). The Host's Gater is not installed in that host's network, so blocking works
// by closing connections from blocked peers as they appear and by refusing their gossip and streams.
// Traffic.WireIn/WireOut stay 0. The new-connection rate limit (AbuseConfig.NewConnRate) applies
// only if NewConnRate is set explicitly, and then by closing connections over the rate as they appear.
// ctx bounds the setup only.
func NewFromHost(ctx context.Context, lh host.Host, opts Options) (*Host, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Mocknet tests put many hosts in one /24: without an explicit NewConnRate the limit stays off.
	return attach(lh, opts, NewGater(), nil, false, opts.Abuse.NewConnRate > 0)
}

func attach(lh host.Host, opts Options, gater *Gater, bw metrics.Reporter, gated, limitConns bool) (*Host, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Host{
		h:        lh,
		opts:     opts,
		log:      opts.Logger.With("component", "p2p"),
		gater:    gater,
		bw:       bw,
		inbound:  newPeerSlots(opts.Stream.MaxConcurrentPerPeer),
		outbound: newPeerSlots(opts.Stream.MaxConcurrentPerPeer),
		ctx:      ctx,
		cancel:   cancel,
		topics:   map[string]*gossipTopic{},
		abuse:    newAbuseState(),
		gated:    gated,
	}
	h.subs = newSubFilter(h)
	if a := opts.Abuse; limitConns && a.NewConnRate > 0 {
		exempt, _ := parsePrefixes(a.ExemptNets) // validated above
		gater.conns = newPrefixLimiter(a.NewConnRate, a.NewConnBurst, exempt)
	}
	trusted := h.Trusted
	gater.trusted.Store(&trusted)
	if err := h.startGossip(ctx); err != nil {
		cancel()
		return nil, err
	}
	if opts.SendDelay > 0 {
		h.delay = newDelayLine(opts.SendDelay)
		h.wg.Go(func() { h.delay.run(ctx.Done()) })
	}
	lh.Network().Notify(&network.NotifyBundle{ConnectedF: h.onConnected, DisconnectedF: h.onDisconnected})
	return h, nil
}

// onConnected closes connections from blocked peers, and inbound ones beyond the new-connection rate:
// on hosts whose network does not run the Gater (NewFromHost), this is what keeps them out.
func (h *Host) onConnected(_ network.Network, c network.Conn) {
	if h.gated {
		return
	}
	p := c.RemotePeer()
	if h.gater.IsBlocked(p) ||
		(c.Stat().Direction == network.DirInbound && !h.gater.admitInbound(p, c.RemoteMultiaddr())) {
		go func() { _ = c.Close() }()
	}
}

// onDisconnected forgets a gone peer's gossip subscriptions.
func (h *Host) onDisconnected(n network.Network, c network.Conn) {
	if p := c.RemotePeer(); n.Connectedness(p) != network.Connected {
		h.subs.forget(p)
	}
}

// newResourceManager builds libp2p's resource manager for the node's budget rather than the
// machine's: memory and file descriptors from Config (libp2p's defaults scaled to them, not to
// whatever the machine has), connections from ConnHigh (the connection manager trims to ConnLow above
// it, so the resource manager only has to stop floods), a few connections per peer, and libp2p's
// per-IP connection limits and connection-rate limits with AbuseConfig.ExemptNets exempt (libp2p
// exempts only loopback by default, and allows few connections per IP otherwise).
func newResourceManager(cfg Config) (network.ResourceManager, error) {
	exempt, err := parsePrefixes(cfg.Abuse.ExemptNets)
	if err != nil {
		return nil, err
	}
	var v4, v6 []rcmgr.NetworkPrefixLimit
	rateExempt := make([]rate.PrefixLimit, 0, len(exempt))
	for _, p := range exempt {
		l := rcmgr.NetworkPrefixLimit{Network: p, ConnCount: math.MaxInt}
		if p.Addr().Is4() {
			v4 = append(v4, l)
		} else {
			v6 = append(v6, l)
		}
		rateExempt = append(rateExempt, rate.PrefixLimit{Prefix: p}) // the zero limit: none
	}
	if v4 == nil {
		v4 = []rcmgr.NetworkPrefixLimit{} // non-nil: replaces libp2p's loopback-only default
	}
	if v6 == nil {
		v6 = []rcmgr.NetworkPrefixLimit{}
	}
	opts := []rcmgr.Option{
		rcmgr.WithNetworkPrefixLimit(v4, v6),
		// libp2p's default per-address rates (a new connection per 5 s per IPv4 address after a
		// burst of 16), with the exempt networks added.
		rcmgr.WithConnRateLimiters(&rate.Limiter{
			NetworkPrefixLimits: rateExempt,
			SubnetRateLimiter: rate.SubnetLimiter{
				IPv4SubnetLimits: []rate.SubnetLimit{{PrefixLength: 32, Limit: rate.Limit{RPS: 0.2, Burst: 16}}},
				IPv6SubnetLimits: []rate.SubnetLimit{
					{PrefixLength: 56, Limit: rate.Limit{RPS: 0.2, Burst: 16}},
					{PrefixLength: 48, Limit: rate.Limit{RPS: 0.5, Burst: 80}},
				},
				GracePeriod: time.Minute,
			},
		}),
	}
	if cfg.Metrics == nil {
		opts = append(opts, rcmgr.WithMetricsDisabled())
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(resourceLimits(cfg)), opts...)
	if err != nil {
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	return rm, nil
}

// resourceLimits are libp2p's default limits (with its service limits) scaled to
// Config.ResourceMemory and ResourceFDs, with connection counts set from ConnHigh: up to ConnHigh
// inbound and ConnHigh outbound, twice ConnHigh in all (QUIC and TCP to one peer, dials racing), a
// quarter of that still in the handshake, and 8 per peer; all of them together use at most
// ResourceMemory.
func resourceLimits(cfg Config) rcmgr.ConcreteLimitConfig {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	scaled := limits.Scale(cfg.ResourceMemory, cfg.ResourceFDs)
	high := max(cfg.ConnHigh, 32)
	conns := rcmgr.LimitVal(2 * high)
	return rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns: conns, ConnsInbound: rcmgr.LimitVal(high), ConnsOutbound: rcmgr.LimitVal(high),
			// Scale adds its per-GiB increase to a base; the budget is the budget.
			Memory: rcmgr.LimitVal64(cfg.ResourceMemory),
		},
		Transient: rcmgr.ResourceLimits{
			Conns: conns / 4, ConnsInbound: rcmgr.LimitVal(high / 4), ConnsOutbound: rcmgr.LimitVal(high / 4),
		},
		PeerDefault: rcmgr.ResourceLimits{Conns: 8, ConnsInbound: 4, ConnsOutbound: 4},
	}.Build(scaled)
}

// relayCandidates offers connected peers as relay candidates to autorelay.
func relayCandidates(self *atomic.Pointer[host.Host]) func(ctx context.Context, num int) <-chan peer.AddrInfo {
	return func(ctx context.Context, num int) <-chan peer.AddrInfo {
		out := make(chan peer.AddrInfo, num)
		defer close(out)
		hp := self.Load()
		if hp == nil {
			return out
		}
		h := *hp
		for _, p := range h.Network().Peers() {
			if len(out) == num {
				break
			}
			out <- peer.AddrInfo{ID: p, Addrs: h.Peerstore().Addrs(p)}
		}
		return out
	}
}

// checkPortsFree tries each TCP or UDP listen address with a fixed port, so a taken port is reported
// plainly (libp2p would log it and carry on with the other listeners, or, with SO_REUSEPORT, share it).
func checkPortsFree(addrs []string) error {
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return fmt.Errorf("%w: listen address %q: %v", ErrConfig, s, err)
		}
		ip, err := a.ValueForProtocol(ma.P_IP4)
		if err != nil {
			if ip, err = a.ValueForProtocol(ma.P_IP6); err != nil {
				continue // DNS or other forms: leave them to libp2p
			}
		}
		if port, err := a.ValueForProtocol(ma.P_TCP); err == nil && port != "0" {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, port))
			if err != nil {
				return fmt.Errorf("%w: %s (tcp port %s): %v", ErrAddrInUse, s, port, err)
			}
			_ = l.Close()
		}
		if port, err := a.ValueForProtocol(ma.P_UDP); err == nil && port != "0" {
			l, err := net.ListenPacket("udp", net.JoinHostPort(ip, port))
			if err != nil {
				return fmt.Errorf("%w: %s (udp port %s): %v", ErrAddrInUse, s, port, err)
			}
			_ = l.Close()
		}
	}
	return nil
}

// ID returns the host's peer ID.
func (h *Host) ID() peer.ID { return h.h.ID() }

// LibP2P returns the underlying libp2p host, for what this package does not wrap.
func (h *Host) LibP2P() host.Host { return h.h }

// Addrs returns the host's addresses as full multiaddrs ending in /p2p/<id>, ready to print or to give
// other peers as a bootstrap address.
func (h *Host) Addrs() []string {
	infos, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.h.ID(), Addrs: h.h.Addrs()})
	if err != nil {
		return nil
	}
	out := make([]string, len(infos))
	for i, a := range infos {
		out[i] = a.String()
	}
	return out
}

// Peers lists the connected peers.
func (h *Host) Peers() []peer.ID { return h.h.Network().Peers() }

// Protect keeps the connection manager from trimming connections to p (fellow members).
// Protected peers are also trusted (see SetTrusted).
func (h *Host) Protect(p peer.ID) { h.h.ConnManager().Protect(p, protectTag) }

// Unprotect undoes Protect.
func (h *Host) Unprotect(p peer.ID) { h.h.ConnManager().Unprotect(p, protectTag) }

const protectTag = "byzpp-member"

// BlockPeer cuts p off: no connections, no gossip, no streams, until UnblockPeer.
func (h *Host) BlockPeer(p peer.ID) {
	if h.gater.Block(p) {
		h.log.Info("blocked peer", "peer", p)
	}
	h.ps.BlacklistPeer(p) // drops p's gossip state now; the blacklist itself is the Gater
	_ = h.h.Network().ClosePeer(p)
}

// UnblockPeer lets p connect again.
func (h *Host) UnblockPeer(p peer.ID) {
	if h.gater.Unblock(p) {
		h.log.Info("unblocked peer", "peer", p)
	}
}

// IsBlocked reports whether p is blocked.
func (h *Host) IsBlocked(p peer.ID) bool { return h.gater.IsBlocked(p) }

// Gater returns the host's set of blocked peers.
func (h *Host) Gater() *Gater { return h.gater }

// PeerScore returns p's latest gossipsub score (sampled every GossipConfig.ScoreInspectPeriod), and
// false if p has none yet.
func (h *Host) PeerScore(p peer.ID) (float64, bool) { return h.scores.get(p) }

// PeerScores returns the latest gossipsub scores of all scored peers.
func (h *Host) PeerScores() map[peer.ID]float64 { return h.scores.all() }

// Shutdown leaves every topic, stops gossip, discovery and background work and waits for them, but
// leaves the libp2p host and its connections up. Close calls it. A process running many hosts (tests)
// shuts all of them down before closing any, so no host is still opening streams into connections
// that are being torn down. It is safe to call more than once.
func (h *Host) Shutdown() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	topics := make([]*gossipTopic, 0, len(h.topics))
	for _, t := range h.topics {
		topics = append(topics, t)
	}
	h.mu.Unlock()
	for _, t := range topics {
		if err := t.Close(); err != nil {
			h.log.Debug("closing topic", "topic", t.name, "err", err)
		}
	}
	h.cancel()
	h.wg.Wait()
}

// Close shuts the host down (see Shutdown) and closes the DHT, mDNS and the libp2p host. It is safe to
// call more than once.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.Shutdown()
		var errs []error
		if h.mdns != nil {
			errs = append(errs, h.mdns.Close())
		}
		if h.dht != nil {
			errs = append(errs, h.dht.Close())
		}
		errs = append(errs, h.h.Close())
		h.closeErr = errors.Join(errs...)
	})
	return h.closeErr
}

// KnownAddrs returns the addresses the peerstore holds for p (learnt from identify, discovery or
// bootstrap), as strings.
func (h *Host) KnownAddrs(p peer.ID) []string {
	var out []string
	for _, a := range h.h.Peerstore().Addrs(p) {
		out = append(out, a.String())
	}
	return out
}

// Connected reports whether there is a live connection to p.
func (h *Host) Connected(p peer.ID) bool {
	return h.h.Network().Connectedness(p) == network.Connected
}
