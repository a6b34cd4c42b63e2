// Package memnet is an in-memory p2p.Network (the twin of hashicorp/raft's InmemTransport): hosts in
// one process that exchange direct messages, requests and gossip through channels and goroutines, with
// no libp2p, no streams and no wire framing. Node's tests run on it, inside testing/synctest bubbles and
// under the race detector (which libp2p's mocknet streams do not survive).
//
// It keeps the semantics node relies on (see p2p.Network):
//   - Each ordered pair of hosts has one delivery goroutine (a pipe) owned by the sender: direct
//     messages and gossip from one host reach another in the order they were sent, and a direct
//     handler runs on that goroutine (back pressure, as on a stream). Send and Publish only queue;
//     a full pipe (p2p.DirectQueue) makes Send fail with p2p.ErrQueueFull and drops gossip.
//   - A direct message for a protocol the receiver does not handle yet is retried for a few seconds
//     (a starting peer), then dropped with whatever was queued behind it.
//   - A topic's validator runs on the host's own publishes (a rejected or ignored publish fails) and
//     on every message a peer sends; accepted messages go to the subscription buffer
//     (GossipConfig.SubscriptionBuffer, the excess dropped), payloads are deduplicated by content for
//     two minutes. Gossip is flood-published to the connected peers and not forwarded: a peer that is
//     not connected to the author does not get the message.
//   - Every Reject of a peer's message lowers its score like gossipsub's invalid-message penalty
//     (−10 × count², the count decaying by 0.99 a second), and untrusted peers' invalid input
//     (p2p.InvalidInput) costs 20 per recent offence; below p2p.GraylistThreshold the peer's gossip is
//     ignored. Honest peers score 0 (gossipsub would give them small positive scores).
//   - Requests run the handler on a goroutine of the serving host with StreamConfig.HandlerTimeout;
//     caps, the Allow option and blocks apply before the handler, and a request above its cap is
//     reported as invalid input.
//   - Hosts connect on Network.ConnectAll or Connect, or implicitly when one sends or requests to
//     another (a dial); Partition cuts pairs so that they cannot connect until Heal; a block cuts the
//     connection and refuses the peer both ways; Close ends a host's goroutines (and Network.Close
//     every host's), so a synctest bubble ends with none left.
//   - Options.SendDelay holds every Send and Publish for that long (one FIFO per host).
//
// Not modelled: gossip forwarding and meshes, positive gossip scores, per-peer request concurrency
// bounds, subscription filters (AllowTopics is a no-op), frame deadlines, the wire byte counters
// (Traffic.WireIn/WireOut stay 0).
package memnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byzpp/byzpp/p2p"
)

// Errors of dials (wrapped in the errors of Send, Request and ConnectPeer).
var (
	// ErrUnknownPeer: no host of this network has that ID.
	ErrUnknownPeer = errors.New("memnet: no such peer")
	// ErrUnreachable: the pair is partitioned (Network.Partition).
	ErrUnreachable = errors.New("memnet: peer unreachable")
	// ErrNotSupported: the peer does not serve the protocol.
	ErrNotSupported = errors.New("memnet: protocol not supported")
	// ErrReset: the peer refused the request (not allowed, blocked, too large) or its handler ran out
	// of time; the exchange failed as a reset stream does.
	ErrReset = errors.New("memnet: stream reset")
)

// Retries of a direct message whose protocol the receiver does not handle (yet): as p2p's.
const (
	directRetryFirst = 20 * time.Millisecond
	directRetryMax   = 100 * time.Millisecond
	directRetryFor   = 5 * time.Second
	// seenFor is how long a gossip payload is remembered (gossipsub's seen cache).
	seenFor = 2 * time.Minute
	// maxDelayed bounds a host's send-delay queue.
	maxDelayed = 1 << 16
	// maxErrorText caps a handler error's text, as p2p does.
	maxErrorText = 512
)

// Network is a set of in-memory hosts and the connections between them.
type Network struct {
	opts p2p.Options

	mu    sync.Mutex
	hosts map[p2p.PeerID]*Host
	order []*Host
	conns map[p2p.PeerID]map[p2p.PeerID]bool
	cut   map[[2]p2p.PeerID]bool
}

// New returns an empty network whose hosts use opts (defaults filled in; only the logger, the
// protocol prefix, SendDelay, the gossip size and buffer, the handler timeout and the abuse settings
// matter).
func New(opts p2p.Options) *Network {
	return &Network{opts: opts.WithDefaults(), hosts: map[p2p.PeerID]*Host{},
		conns: map[p2p.PeerID]map[p2p.PeerID]bool{}, cut: map[[2]p2p.PeerID]bool{}}
}

// AddHost adds a host with the identity of key, connected to nobody.
func (n *Network) AddHost(key p2p.PrivKey) (*Host, error) {
	id, err := p2p.PeerIDFromPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return n.AddHostWith(id, n.opts)
}

// AddHostWith adds a host with the given ID and options (defaults filled in).
func (n *Network) AddHostWith(id p2p.PeerID, opts p2p.Options) (*Host, error) {
	opts = opts.WithDefaults()
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.hosts[id]; ok {
		return nil, fmt.Errorf("memnet: host %s already added", id)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Host{net: n, id: id, index: len(n.order), opts: opts, log: opts.Logger.With("host", id.ShortString()),
		ctx: ctx, cancel: cancel, blocked: map[p2p.PeerID]time.Time{}, known: map[p2p.PeerID]bool{},
		handlers: map[string]service{}, direct: map[string]directService{}, topics: map[string]*topic{},
		pipes: map[p2p.PeerID]*pipe{}, scores: map[p2p.PeerID]*score{}, offences: map[p2p.PeerID][]time.Time{},
		reasons: p2p.NewReasonCounter()}
	if opts.SendDelay > 0 {
		h.delay = make(chan delayed, maxDelayed)
		h.wg.Go(h.runDelay)
	}
	n.hosts[id] = h
	n.order = append(n.order, h)
	return h, nil
}

// Hosts returns the hosts in the order they were added.
func (n *Network) Hosts() []*Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.order)
}

// ConnectAll connects every pair of hosts that may connect (open, not partitioned, not blocked).
func (n *Network) ConnectAll() {
	for i, a := range n.Hosts() {
		for _, b := range n.Hosts()[i+1:] {
			_ = n.dial(a.id, b.id)
		}
	}
}

// Connect connects a and b.
func (n *Network) Connect(a, b p2p.PeerID) error { return n.dial(a, b) }

// Disconnect closes the connection between a and b (either may dial again).
func (n *Network) Disconnect(a, b p2p.PeerID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.disconnectLocked(a, b)
}

// Partition splits the network: hosts in different groups are disconnected and cannot connect until
// Heal. Hosts in no group are left as they are.
func (n *Network) Partition(groups ...[]p2p.PeerID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, g := range groups {
		for _, o := range groups[i+1:] {
			for _, a := range g {
				for _, b := range o {
					n.cut[pairOf(a, b)] = true
					n.disconnectLocked(a, b)
				}
			}
		}
	}
}

// Heal undoes every Partition (it does not reconnect: call ConnectAll or let the hosts dial).
func (n *Network) Heal() {
	n.mu.Lock()
	clear(n.cut)
	n.mu.Unlock()
}

// Close closes every host, the last added first.
func (n *Network) Close() {
	for _, h := range slices.Backward(n.Hosts()) {
		_ = h.Close()
	}
}

func pairOf(a, b p2p.PeerID) [2]p2p.PeerID {
	if b < a {
		a, b = b, a
	}
	return [2]p2p.PeerID{a, b}
}

func (n *Network) host(id p2p.PeerID) *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hosts[id]
}

// dial connects a to b unless one is closed, blocks the other, or the pair is partitioned. Lock
// order: the network's lock, then one host's at a time (a host never takes the network's lock while
// holding its own).
func (n *Network) dial(a, b p2p.PeerID) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ha, hb := n.hosts[a], n.hosts[b]
	switch {
	case ha == nil || hb == nil:
		return ErrUnknownPeer
	case a == b:
		return fmt.Errorf("%w: dial to self", p2p.ErrConfig)
	case n.conns[a][b]:
		return nil
	case n.cut[pairOf(a, b)]:
		return ErrUnreachable
	}
	if err := ha.admits(b); err != nil {
		return err
	}
	if err := hb.admits(a); err != nil {
		return err
	}
	for _, e := range [][2]*Host{{ha, hb}, {hb, ha}} {
		if n.conns[e[0].id] == nil {
			n.conns[e[0].id] = map[p2p.PeerID]bool{}
		}
		n.conns[e[0].id][e[1].id] = true
		e[0].mu.Lock()
		e[0].known[e[1].id] = true
		e[0].mu.Unlock()
	}
	return nil
}

func (n *Network) disconnectLocked(a, b p2p.PeerID) {
	delete(n.conns[a], b)
	delete(n.conns[b], a)
}

func (n *Network) connected(a, b p2p.PeerID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns[a][b]
}

func (n *Network) peers(a p2p.PeerID) []p2p.PeerID {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]p2p.PeerID, 0, len(n.conns[a]))
	for p := range n.conns[a] {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// addr is the made-up address of the host with the given index: a parseable multiaddr.
func addr(index int) string {
	return fmt.Sprintf("/ip4/10.%d.%d.%d/tcp/4001", 200+index>>16&31, index>>8&255, index&255)
}

// Host is one in-memory host; it implements p2p.Network.
type Host struct {
	net   *Network
	id    p2p.PeerID
	index int
	opts  p2p.Options
	log   *slog.Logger

	// ctx lives until Close; every goroutine of the host is tied to it and counted in wg.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	delay  chan delayed // nil without Options.SendDelay

	mu        sync.Mutex
	closed    bool
	blocked   map[p2p.PeerID]time.Time // zero: until UnblockPeer
	known     map[p2p.PeerID]bool      // ever connected: their addresses are known
	bootstrap []p2p.PeerID
	handlers  map[string]service
	direct    map[string]directService
	topics    map[string]*topic
	pipes     map[p2p.PeerID]*pipe
	scores    map[p2p.PeerID]*score
	offences  map[p2p.PeerID][]time.Time

	trusted atomic.Pointer[func(p2p.PeerID) bool]
	hook    atomic.Pointer[func(p2p.InvalidInput)]
	reasons *p2p.ReasonCounter
	traffic struct {
		gossipIn, gossipOut, streamIn, streamOut, directIn, directOut atomic.Int64
		directMsgsIn, directMsgsOut, directWritesOut                  atomic.Int64
	}
}

var _ p2p.Network = (*Host)(nil)

type service struct {
	name    string
	maxReq  int
	handler p2p.Handler
	allow   func(p2p.PeerID) bool
}

type directService struct {
	name    string
	maxMsg  int
	handler p2p.DirectHandler
	allow   func(p2p.PeerID) bool
}

type delayed struct {
	due time.Time
	fn  func()
}

// ID returns the host's peer ID.
func (h *Host) ID() p2p.PeerID { return h.id }

// Addrs returns the host's made-up address.
func (h *Host) Addrs() []string { return []string{addr(h.index) + "/p2p/" + h.id.String()} }

// Peers lists the connected peers.
func (h *Host) Peers() []p2p.PeerID { return h.net.peers(h.id) }

// Connected reports whether h is connected to p.
func (h *Host) Connected(p p2p.PeerID) bool { return h.net.connected(h.id, p) }

// ConnectPeer connects to info.ID; it needs addresses (info.Addrs, or known from an earlier
// connection), as libp2p does.
func (h *Host) ConnectPeer(ctx context.Context, info p2p.AddrInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.Lock()
	known := h.known[info.ID]
	h.mu.Unlock()
	if len(info.Addrs) == 0 && !known && !h.Connected(info.ID) {
		return fmt.Errorf("memnet: no addresses for %s", info.ID)
	}
	return h.net.dial(h.id, info.ID)
}

// KnownAddrs returns p's address if h was ever connected to it.
func (h *Host) KnownAddrs(p p2p.PeerID) []string {
	h.mu.Lock()
	known := h.known[p]
	h.mu.Unlock()
	if !known {
		return nil
	}
	if o := h.net.host(p); o != nil {
		return []string{addr(o.index)}
	}
	return nil
}

// SetBootstrap sets the peers Bootstrap dials.
func (h *Host) SetBootstrap(peers ...p2p.PeerID) {
	h.mu.Lock()
	h.bootstrap = slices.Clone(peers)
	h.mu.Unlock()
}

// Bootstrap dials the bootstrap peers (SetBootstrap) and returns how many it reached: (0, nil) with
// none set, p2p.ErrNoBootstrap if none answered.
func (h *Host) Bootstrap(ctx context.Context) (int, error) {
	h.mu.Lock()
	peers := slices.Clone(h.bootstrap)
	h.mu.Unlock()
	if len(peers) == 0 {
		return 0, nil
	}
	n := 0
	var errs []error
	for _, p := range peers {
		if err := h.net.dial(h.id, p); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: %w", p2p.ErrNoBootstrap, errors.Join(errs...))
	}
	return n, ctx.Err()
}

// admits reports why h refuses a connection with p (closed, or p blocked), nil if it does not.
func (h *Host) admits(p p2p.PeerID) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return p2p.ErrClosed
	}
	if h.blockedLocked(p, time.Now()) {
		return fmt.Errorf("%w: %s", p2p.ErrBlocked, p)
	}
	return nil
}

func (h *Host) blockedLocked(p p2p.PeerID, now time.Time) bool {
	until, ok := h.blocked[p]
	if !ok {
		return false
	}
	if until.IsZero() || now.Before(until) {
		return true
	}
	delete(h.blocked, p)
	return false
}

// IsBlocked reports whether p is blocked.
func (h *Host) IsBlocked(p p2p.PeerID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.blockedLocked(p, time.Now())
}

// BlockPeer cuts p off until UnblockPeer.
func (h *Host) BlockPeer(p p2p.PeerID) { h.block(p, time.Time{}) }

// BlockPeerFor cuts p off for d.
func (h *Host) BlockPeerFor(p p2p.PeerID, d time.Duration) { h.block(p, time.Now().Add(d)) }

func (h *Host) block(p p2p.PeerID, until time.Time) {
	h.mu.Lock()
	if cur, ok := h.blocked[p]; !ok || (!cur.IsZero() && (until.IsZero() || until.After(cur))) {
		h.blocked[p] = until
	}
	h.mu.Unlock()
	h.log.Debug("blocked peer", "peer", p, "until", until)
	h.net.Disconnect(h.id, p)
}

// UnblockPeer lets p connect again.
func (h *Host) UnblockPeer(p p2p.PeerID) {
	h.mu.Lock()
	delete(h.blocked, p)
	h.mu.Unlock()
}

// Traffic returns the payload byte counters (WireIn and WireOut stay 0).
func (h *Host) Traffic() p2p.Traffic {
	t := &h.traffic
	return p2p.Traffic{
		GossipIn: t.gossipIn.Load(), GossipOut: t.gossipOut.Load(),
		StreamIn: t.streamIn.Load(), StreamOut: t.streamOut.Load(),
		DirectIn: t.directIn.Load(), DirectOut: t.directOut.Load(),
		DirectMsgsIn: t.directMsgsIn.Load(), DirectMsgsOut: t.directMsgsOut.Load(),
		DirectWritesOut: t.directWritesOut.Load(),
	}
}

// Close closes the host: its topics, connections, pipes and handlers' contexts; it waits for its
// goroutines. Safe to call more than once.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	topics := make([]*topic, 0, len(h.topics))
	for _, t := range h.topics {
		topics = append(topics, t)
	}
	h.mu.Unlock()
	for _, t := range topics {
		_ = t.Close()
	}
	h.net.mu.Lock()
	for p := range h.net.conns[h.id] {
		h.net.disconnectLocked(h.id, p)
	}
	h.net.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}

// spawn runs f on a goroutine of the host unless it is closed.
func (h *Host) spawn(f func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Go(f)
	return true
}

// later runs fn after Options.SendDelay (at once without one); false if the delay queue is full.
func (h *Host) later(fn func()) bool {
	if h.delay == nil {
		fn()
		return true
	}
	select {
	case h.delay <- delayed{due: time.Now().Add(h.opts.SendDelay), fn: fn}:
		return true
	default:
		return false
	}
}

func (h *Host) runDelay() {
	for {
		select {
		case <-h.ctx.Done():
			return
		case d := <-h.delay:
			if wait := time.Until(d.due); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-h.ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			d.fn()
		}
	}
}

// protocolName checks a stream protocol name as p2p does and returns it unchanged.
func protocolName(name string) (string, error) {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, " \t\n") {
		return "", fmt.Errorf("%w: protocol name %q must be non-empty and relative", p2p.ErrConfig, name)
	}
	return name, nil
}

func collectAllow(opts []p2p.HandleOption) func(p2p.PeerID) bool {
	return p2p.AllowOf(opts)
}
