package p2p

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Network is what the rest of byzpp (package node) needs from the network: identity and connections,
// blocking, gossip topics with validators, request/response streams, one-way direct messages, byte
// counters, gossip peer scores and the hostile-input hooks. *Host implements it over libp2p; package
// p2p/memnet implements it in memory, for tests that do not test libp2p itself (they run under the race
// detector, which mocknet's streams do not survive).
//
// The semantics node relies on, which every implementation keeps:
//   - A topic's validator runs on this host's own publishes too (a rejected or ignored publish fails),
//     and NextMessage hands out this host's own publishes marked Local.
//   - Direct messages (and gossip) from one peer arrive in the order it sent them; a direct handler
//     runs on that peer's delivery goroutine, so while it blocks further messages from it wait.
//   - Send and Publish queue and return at once (ErrQueueFull when a peer's queue is full).
//   - Handle and HandleDirect apply the Allow option before anything is read; a request or message
//     above its cap is reported as invalid input (OnInvalidInput) and dropped.
//   - A blocked peer is cut off both ways; BlockPeerFor lifts the block after the duration.
//   - Gossip peer scores fall with every message a validator Rejects; below GraylistThreshold the
//     peer's gossip is ignored.
type Network interface {
	ID() PeerID
	// Peers lists the connected peers; Connected reports whether p is one of them.
	Peers() []PeerID
	Connected(p PeerID) bool
	// ConnectPeer connects to info.ID (at info.Addrs, or at addresses known already).
	ConnectPeer(ctx context.Context, info AddrInfo) error
	// KnownAddrs returns the addresses known for p, as multiaddr strings.
	KnownAddrs(p PeerID) []string
	// Bootstrap connects to the configured bootstrap peers and returns how many it reached.
	Bootstrap(ctx context.Context) (int, error)

	IsBlocked(p PeerID) bool
	BlockPeerFor(p PeerID, d time.Duration)

	JoinTopic(name string, validate Validator) (Topic, error)

	Handle(name string, maxReq int, handler Handler, opts ...HandleOption) error
	Unhandle(name string)
	Request(ctx context.Context, to PeerID, name string, req []byte, maxResp int) ([]byte, error)

	HandleDirect(name string, maxMsg int, handler DirectHandler, opts ...HandleOption) error
	UnhandleDirect(name string)
	Send(to PeerID, name string, msg []byte) error

	Traffic() Traffic
	PeerScore(p PeerID) (float64, bool)

	SetTrusted(f func(PeerID) bool)
	AllowTopics(names ...string)
	OnInvalidInput(f func(InvalidInput))
	ReportInvalid(p PeerID, protocol, reason string)
}

// Topic is a joined gossip topic (see Host.JoinTopic for the libp2p one).
type Topic interface {
	// Name is the full topic name (under the protocol prefix).
	Name() string
	// MaxPayload is the largest payload Publish accepts.
	MaxPayload() int
	// Publish validates data with this host's own validator and gossips it.
	Publish(ctx context.Context, data []byte) error
	// NextMessage blocks until the next validated message (this host's own publishes included) or
	// until ctx ends; a closed topic returns ErrTopicClosed.
	NextMessage(ctx context.Context) (Message, error)
	// Next is NextMessage reduced to the forwarding peer and the decoded value.
	Next(ctx context.Context) (from PeerID, decoded any, err error)
	// Peers lists the connected peers known to subscribe to the topic.
	Peers() []PeerID
	// Rejects and Ignores count the validator's verdicts by reason.
	Rejects() *ReasonCounter
	Ignores() *ReasonCounter
	// Close leaves the topic.
	Close() error
}

var _ Network = (*Host)(nil)

// The libp2p types byzpp passes around, re-exported so that packages above p2p need not import
// libp2p or multiaddr themselves.
type (
	// PeerID identifies a peer: the multihash of its public key.
	PeerID = peer.ID
	// AddrInfo is a peer ID with addresses to reach it at.
	AddrInfo = peer.AddrInfo
	// PrivKey is a private identity key (Ed25519 in byzpp).
	PrivKey = crypto.PrivKey
	// PubKey is a public identity key.
	PubKey = crypto.PubKey
	// Multiaddr is a network address.
	Multiaddr = ma.Multiaddr
)

// DecodePeerID parses a peer ID from its string form.
func DecodePeerID(s string) (PeerID, error) { return peer.Decode(s) }

// PeerIDFromBytes parses a peer ID from its binary form.
func PeerIDFromBytes(b []byte) (PeerID, error) { return peer.IDFromBytes(b) }

// PeerIDFromPrivateKey returns the peer ID of a private key.
func PeerIDFromPrivateKey(k PrivKey) (PeerID, error) { return peer.IDFromPrivateKey(k) }

// PeerIDFromPublicKey returns the peer ID of a public key.
func PeerIDFromPublicKey(k PubKey) (PeerID, error) { return peer.IDFromPublicKey(k) }

// ParseMultiaddr parses a multiaddr string.
func ParseMultiaddr(s string) (Multiaddr, error) { return ma.NewMultiaddr(s) }

// WithDefaults returns the options with every zero field set to its default (what New and
// NewFromHost use), for other implementations of Network.
func (o Options) WithDefaults() Options { return o.withDefaults() }

// AllowOf returns the function the Allow option among opts sets (nil: every peer not blocked), for
// other implementations of Network.
func AllowOf(opts []HandleOption) func(PeerID) bool { return collectOptions(opts).allow }
