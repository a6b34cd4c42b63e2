package p2p

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("p2p: invalid configuration")

// Defaults.
const (
	DefaultProtocolPrefix = "/byzpp"
	// DefaultMaxGossipMessage is gossipsub's per-message cap. One MiB holds a dense float64 vector of
	// about 130k coordinates with room for the envelope; larger round messages go over a direct stream
	// and only their digest (wire.Announce) is gossiped. Every peer must use the same cap, since a
	// message above a receiver's cap is dropped by that receiver.
	DefaultMaxGossipMessage = 1 << 20
	DefaultConnLow          = 96
	DefaultConnHigh         = 256
	// DefaultResourceMemory is the memory libp2p's resource manager may hand out (stream buffers,
	// yamux windows): enough for every member's direct stream to carry a multi-megabyte round message
	// at full window at once.
	DefaultResourceMemory = 1 << 30
	// DefaultResourceFDs is the file descriptors the resource manager may use.
	DefaultResourceFDs = 2048
)

// DefaultListenAddrs listens on every IPv4 interface, TCP and QUIC, on ports chosen by the OS.
var DefaultListenAddrs = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}

// Options configure the services byzpp runs on a libp2p host, whether New created it or it came from
// elsewhere (NewFromHost, e.g. a mocknet host in tests).
type Options struct {
	// ProtocolPrefix namespaces stream protocols, gossip topics and the DHT ("/byzpp" by default), so
	// separate networks never mix.
	ProtocolPrefix string
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	Gossip GossipConfig
	Stream StreamConfig
	Abuse  AbuseConfig
	// SendDelay holds every outgoing direct message (Send) and gossip publish (Topic.Publish) this
	// long before it leaves, in order: emulated latency for testnets (`peer run --publish-delay`).
	// Send and Publish still return at once. 0: none.
	SendDelay time.Duration
}

// GossipConfig tunes gossipsub.
type GossipConfig struct {
	// MaxMessageSize caps one gossip message in bytes (default DefaultMaxGossipMessage).
	MaxMessageSize int
	// ColocationWhitelist lists CIDRs exempt from gossipsub's many-peers-on-one-IP penalty (default
	// loopback only, so single-machine testnets work; add private ranges for LAN testnets).
	ColocationWhitelist []string
	// SubscriptionBuffer is how many validated messages wait for Topic.Next before gossipsub starts
	// dropping them for this subscriber (default 1024).
	SubscriptionBuffer int
	// ValidatorTimeout bounds one validator call (default 10s).
	ValidatorTimeout time.Duration
	// ScoreInspectPeriod is how often peer scores are sampled for PeerScore (default 1s).
	ScoreInspectPeriod time.Duration
	// Topics, when set, switches the subscription filter to an allowlist: only subscriptions of
	// other peers to these topics (names as given to JoinTopic) and to topics this host joins are
	// tracked; Host.AllowTopics adds names later. Empty: any topic under ProtocolPrefix is tracked, up
	// to MaxTopicsPerPeer per peer. Subscriptions outside the protocol prefix are never tracked.
	Topics []string
	// MaxTopicsPerPeer caps the topics tracked for one remote peer (default 16). Subscriptions beyond
	// it are dropped and reported as invalid input ("subscription-flood").
	MaxTopicsPerPeer int
	// MaxSubscriptionsPerRPC caps the subscription entries of one gossip RPC (default 64); a bigger
	// RPC is dropped whole and reported as invalid input.
	MaxSubscriptionsPerRPC int
}

// StreamConfig tunes request/response streams.
type StreamConfig struct {
	// MaxConcurrentPerPeer bounds in-flight requests per remote peer in each direction (default 4);
	// inbound requests over the bound are reset, outbound ones wait.
	MaxConcurrentPerPeer int
	// HandlerTimeout bounds reading a request, running the handler and writing the response
	// (default 30s).
	HandlerTimeout time.Duration
	// MaxInbound bounds the inbound streams served at once over all peers and protocols, request and
	// direct streams together (default 512); streams over it are reset unread.
	MaxInbound int
	// FrameTimeout and MinRate bound reading one frame (a request or a direct message): a request
	// must start within FrameTimeout of the stream opening, and a frame of n bytes, once its header
	// has arrived, must arrive within FrameTimeout + n/MinRate (defaults 10s and 64 KiB/s). A stream
	// that misses its deadline is reset and reported as invalid input ("timeout").
	FrameTimeout time.Duration
	MinRate      int
	// IdleTimeout resets an inbound direct stream that carries no frame for this long (default 2
	// minutes). Senders close their own direct streams after IdleTimeout/2 without a message, so honest
	// peers with the same setting never hit it.
	IdleTimeout time.Duration
}

// AbuseConfig says how the host makes hostile input cost the peer that sends it.
type AbuseConfig struct {
	// InvalidThreshold invalid inputs (see Host.OnInvalidInput) from one untrusted peer within
	// InvalidWindow block it for BlockFor (defaults 10, 1 minute, 10 minutes). Negative: never block
	// automatically. Trusted peers (Host.SetTrusted) are only reported, never blocked here.
	InvalidThreshold int
	InvalidWindow    time.Duration
	BlockFor         time.Duration
	// NewConnRate and NewConnBurst limit new inbound connections from untrusted peers per IPv4 /24
	// or IPv6 /48: a token bucket of NewConnBurst refilled at NewConnRate per second (defaults 1 and
	// 16). Negative NewConnRate: no limit.
	NewConnRate  float64
	NewConnBurst int
	// ExemptNets lists CIDRs exempt from the new-connection rate limit and from libp2p's per-IP
	// connection limits (default loopback only, so single-machine testnets of any size work; add
	// private ranges for LAN testnets). An empty non-nil list exempts nothing.
	ExemptNets []string
}

// Config configures a real libp2p host created by New.
type Config struct {
	Options
	// Key is the host's identity; it must be Ed25519 (see LoadOrCreateKey).
	Key crypto.PrivKey
	// ListenAddrs are multiaddrs to listen on (default DefaultListenAddrs).
	ListenAddrs []string
	// Bootstrap lists peers to join through, as multiaddrs ending in /p2p/<id>.
	Bootstrap []string
	// Rendezvous is the string peers of one run advertise and look up on the DHT and mDNS; use
	// something unique to the run (default ProtocolPrefix).
	Rendezvous string
	// EnableDHT runs a Kademlia DHT under ProtocolPrefix and uses it to find peers of Rendezvous.
	EnableDHT bool
	// DHTServer forces DHT server mode; otherwise the mode follows reachability (server while unknown).
	DHTServer bool
	// EnableMDNS finds peers on the local network.
	EnableMDNS bool
	// EnableNAT turns on NAT port mapping, hole punching, the relay client with automatic relays, and
	// the relay service (active only when this host is publicly reachable).
	EnableNAT bool
	// ConnLow and ConnHigh are the connection manager's watermarks (defaults DefaultConnLow,
	// DefaultConnHigh).
	ConnLow, ConnHigh int
	// Bandwidth receives byte counts for every stream; nil means a new metrics.BandwidthCounter.
	Bandwidth metrics.Reporter
	// Metrics, when set, receives libp2p's own Prometheus metrics; nil disables them.
	Metrics prometheus.Registerer
	// ResourceMemory and ResourceFDs are the budget libp2p's resource manager scales its limits to
	// (defaults DefaultResourceMemory and DefaultResourceFDs); connection counts follow ConnHigh
	// (see resourceLimits in host.go).
	ResourceMemory int64
	ResourceFDs    int
}

// withDefaults fills zero fields with defaults.
func (o Options) withDefaults() Options {
	if o.ProtocolPrefix == "" {
		o.ProtocolPrefix = DefaultProtocolPrefix
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	g := &o.Gossip
	if g.MaxMessageSize == 0 {
		g.MaxMessageSize = DefaultMaxGossipMessage
	}
	if g.ColocationWhitelist == nil {
		g.ColocationWhitelist = []string{"127.0.0.0/8", "::1/128"}
	}
	if g.SubscriptionBuffer == 0 {
		g.SubscriptionBuffer = 1024
	}
	if g.ValidatorTimeout == 0 {
		g.ValidatorTimeout = 10 * time.Second
	}
	if g.ScoreInspectPeriod == 0 {
		g.ScoreInspectPeriod = time.Second
	}
	s := &o.Stream
	if s.MaxConcurrentPerPeer == 0 {
		s.MaxConcurrentPerPeer = 4
	}
	if s.HandlerTimeout == 0 {
		s.HandlerTimeout = 30 * time.Second
	}
	if s.MaxInbound == 0 {
		s.MaxInbound = 512
	}
	if s.FrameTimeout == 0 {
		s.FrameTimeout = 10 * time.Second
	}
	if s.MinRate == 0 {
		s.MinRate = 64 << 10
	}
	if s.IdleTimeout == 0 {
		s.IdleTimeout = 2 * time.Minute
	}
	if g.MaxTopicsPerPeer == 0 {
		g.MaxTopicsPerPeer = 16
	}
	if g.MaxSubscriptionsPerRPC == 0 {
		g.MaxSubscriptionsPerRPC = 64
	}
	a := &o.Abuse
	if a.InvalidThreshold == 0 {
		a.InvalidThreshold = 10
	}
	if a.InvalidWindow == 0 {
		a.InvalidWindow = time.Minute
	}
	if a.BlockFor == 0 {
		a.BlockFor = 10 * time.Minute
	}
	if a.NewConnRate == 0 {
		a.NewConnRate = 1
	}
	if a.NewConnBurst == 0 {
		a.NewConnBurst = 16
	}
	if a.ExemptNets == nil {
		a.ExemptNets = []string{"127.0.0.0/8", "::1/128"}
	}
	return o
}

// Validate checks the options (after defaults are applied).
func (o Options) Validate() error {
	o = o.withDefaults()
	if !strings.HasPrefix(o.ProtocolPrefix, "/") || strings.HasSuffix(o.ProtocolPrefix, "/") ||
		strings.ContainsAny(o.ProtocolPrefix, " \t\n") {
		return fmt.Errorf("%w: protocol prefix %q must start with / and not end with /", ErrConfig, o.ProtocolPrefix)
	}
	if o.Gossip.MaxMessageSize < 2*gossipFraming {
		return fmt.Errorf("%w: gossip max message size %d is below %d", ErrConfig, o.Gossip.MaxMessageSize, 2*gossipFraming)
	}
	if _, err := parseCIDRs(o.Gossip.ColocationWhitelist); err != nil {
		return err
	}
	if o.Gossip.SubscriptionBuffer < 0 || o.Gossip.ValidatorTimeout < 0 || o.Gossip.ScoreInspectPeriod < 0 {
		return fmt.Errorf("%w: negative gossip setting", ErrConfig)
	}
	if o.SendDelay < 0 {
		return fmt.Errorf("%w: negative send delay", ErrConfig)
	}
	if s := o.Stream; s.MaxConcurrentPerPeer < 0 || s.HandlerTimeout < 0 || s.MaxInbound < 0 ||
		s.FrameTimeout < 0 || s.MinRate < 0 || s.IdleTimeout < 0 {
		return fmt.Errorf("%w: negative stream setting", ErrConfig)
	}
	if o.Gossip.MaxTopicsPerPeer < 0 || o.Gossip.MaxSubscriptionsPerRPC < 0 {
		return fmt.Errorf("%w: negative gossip topic cap", ErrConfig)
	}
	for _, t := range o.Gossip.Topics {
		if t == "" {
			return fmt.Errorf("%w: empty gossip topic name", ErrConfig)
		}
	}
	if a := o.Abuse; a.InvalidWindow < 0 || a.BlockFor < 0 || a.NewConnBurst < 0 {
		return fmt.Errorf("%w: negative abuse setting", ErrConfig)
	}
	if _, err := parsePrefixes(o.Abuse.ExemptNets); err != nil {
		return err
	}
	return nil
}

func parseCIDRs(list []string) ([]*net.IPNet, error) {
	out := make([]*net.IPNet, 0, len(list))
	for _, s := range list {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("%w: colocation whitelist entry %q: %v", ErrConfig, s, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// parsePrefixes parses CIDRs as netip prefixes (masked).
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%w: exempt network %q: %v", ErrConfig, s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// withDefaults fills zero fields with defaults.
func (c Config) withDefaults() Config {
	c.Options = c.Options.withDefaults()
	if len(c.ListenAddrs) == 0 {
		c.ListenAddrs = DefaultListenAddrs
	}
	if c.Rendezvous == "" {
		c.Rendezvous = c.ProtocolPrefix
	}
	if c.ConnLow == 0 && c.ConnHigh == 0 {
		c.ConnLow, c.ConnHigh = DefaultConnLow, DefaultConnHigh
	}
	if c.ResourceMemory == 0 {
		c.ResourceMemory = DefaultResourceMemory
	}
	if c.ResourceFDs == 0 {
		c.ResourceFDs = DefaultResourceFDs
	}
	return c
}

// Validate checks the configuration (after defaults are applied): an Ed25519 key, parseable listen
// addresses, bootstrap addresses that name a peer, sane connection watermarks.
func (c Config) Validate() error {
	c = c.withDefaults()
	if err := c.Options.Validate(); err != nil {
		return err
	}
	if c.Key == nil {
		return fmt.Errorf("%w: no identity key", ErrConfig)
	}
	if c.Key.Type() != cryptopb.KeyType_Ed25519 {
		return fmt.Errorf("%w: identity key is %v: %w", ErrConfig, c.Key.Type(), ErrNotEd25519)
	}
	for _, a := range c.ListenAddrs {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return fmt.Errorf("%w: listen address %q: %v", ErrConfig, a, err)
		}
	}
	if _, err := parseBootstrap(c.Bootstrap); err != nil {
		return err
	}
	if c.ConnLow < 0 || c.ConnHigh < 1 || c.ConnLow > c.ConnHigh {
		return fmt.Errorf("%w: connection watermarks low %d high %d", ErrConfig, c.ConnLow, c.ConnHigh)
	}
	if c.ResourceMemory < 64<<20 || c.ResourceFDs < 64 {
		return fmt.Errorf("%w: resource budget %d bytes, %d fds (need at least 64 MiB and 64)", ErrConfig,
			c.ResourceMemory, c.ResourceFDs)
	}
	return nil
}

// parseBootstrap parses bootstrap multiaddrs, merging addresses of the same peer.
func parseBootstrap(addrs []string) ([]peer.AddrInfo, error) {
	var infos []peer.AddrInfo
	index := map[peer.ID]int{}
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: bootstrap address %q: %v", ErrConfig, s, err)
		}
		info, err := peer.AddrInfoFromP2pAddr(a)
		if err != nil {
			return nil, fmt.Errorf("%w: bootstrap address %q must end in /p2p/<peer id>: %v", ErrConfig, s, err)
		}
		if j, ok := index[info.ID]; ok {
			infos[j].Addrs = append(infos[j].Addrs, info.Addrs...)
			continue
		}
		index[info.ID] = len(infos)
		infos = append(infos, *info)
	}
	return infos, nil
}
