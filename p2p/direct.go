package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Direct messages: one-way messages to a named peer over a long-lived stream per (peer, protocol).
//
// Gossip suits messages whose author we may not be connected to; for a committee that is fully
// connected it wastes work: flood publish already hands every message to every peer, and the mesh then
// forwards each one again to D peers that already have it. A direct message crosses the wire once per
// receiver. Its sender is authenticated by the connection's secure channel (Noise or TLS), which is what
// lets the receiver defer checking a signature the sender made over it (see node's lazy verification).
//
// Frames are the uvarint-length-prefixed frames of request streams, back to back. A sender goroutine per
// (peer, protocol) writes every frame queued while it was busy and then flushes once, so a burst of
// messages to one peer costs one secure-channel record and one system call, not one per message.
// Delivery is best effort: a full queue, a broken stream or a peer unreachable for directRetryFor drops
// messages (the protocols above repeat what matters), and a broken stream is reopened for the next
// message.

// DirectHandler receives one direct message from peer from. It runs on the stream's reader goroutine:
// while it blocks, further messages from that peer wait (which is the back pressure a slow receiver
// wants).
type DirectHandler func(from peer.ID, msg []byte)

// Limits of direct messaging.
const (
	// DirectQueue is how many messages may wait for one (peer, protocol) sender before Send drops.
	DirectQueue = 4096
	// maxDirectInbound bounds concurrent inbound direct streams per peer and protocol (a reconnect may
	// briefly overlap the old stream).
	maxDirectInbound = 2
	// directDialTimeout bounds opening one outbound stream.
	directDialTimeout = 10 * time.Second
	// directRetryFirst and directRetryFor pace retries of a stream that failed to open.
	directRetryFirst = 20 * time.Millisecond
	directRetryFor   = 5 * time.Second
	directRetryMax   = 100 * time.Millisecond
)

// ErrQueueFull: too many direct messages wait for one peer; the message was dropped.
var ErrQueueFull = errors.New("p2p: direct queue full")

// directState is the Host's direct-messaging bookkeeping.
type directState struct {
	mu      sync.Mutex
	senders map[directKey]*directSender
	inbound map[directKey]int
	// handlers are looked up for every message, not captured by the stream's reader: a stream
	// outlives the handler that was current when it opened (a peer replaces its handler when its
	// member list changes, while the other side keeps its long-lived stream).
	handlers map[protocol.ID]directService
}

// directService is what HandleDirect registered for a protocol.
type directService struct {
	name    string
	handler DirectHandler
	allow   func(peer.ID) bool // nil: everyone not blocked
}

type directKey struct {
	peer  peer.ID
	proto protocol.ID
}

type directSender struct {
	queue chan []byte
}

// HandleDirect serves direct messages of protocol name (namespaced under the prefix) with handler.
// Streams from blocked peers, from peers the Allow option refuses (reset unread, and checked again
// before every message), beyond two per peer and protocol or beyond StreamConfig.MaxInbound in all are
// reset. A message must arrive within the frame deadline once its header has (StreamConfig.FrameTimeout,
// MinRate), and a stream idle for StreamConfig.IdleTimeout is reset. Messages longer than maxMsg bytes,
// malformed or truncated frames and missed frame deadlines break the stream and are reported as
// invalid input (see OnInvalidInput). Calling HandleDirect again replaces the handler and the Allow
// option for streams already open too.
func (h *Host) HandleDirect(name string, maxMsg int, handler DirectHandler, opts ...HandleOption) error {
	pid, err := h.protocolID(name)
	if err != nil {
		return err
	}
	if maxMsg <= 0 || handler == nil {
		return fmt.Errorf("%w: direct handler for %s needs a positive message cap", ErrConfig, name)
	}
	o := collectOptions(opts)
	h.direct.mu.Lock()
	if h.direct.handlers == nil {
		h.direct.handlers = map[protocol.ID]directService{}
	}
	h.direct.handlers[pid] = directService{name: name, handler: handler, allow: o.allow}
	h.direct.mu.Unlock()
	h.h.SetStreamHandler(pid, func(s network.Stream) { h.readDirect(s, pid, maxMsg) })
	return nil
}

// UnhandleDirect stops serving direct protocol name: new streams are refused and messages on open
// ones are dropped until it is handled again.
func (h *Host) UnhandleDirect(name string) {
	if pid, err := h.protocolID(name); err == nil {
		h.direct.mu.Lock()
		delete(h.direct.handlers, pid)
		h.direct.mu.Unlock()
	}
	h.Unhandle(name)
}

func (h *Host) directService(pid protocol.ID) (directService, bool) {
	h.direct.mu.Lock()
	defer h.direct.mu.Unlock()
	svc, ok := h.direct.handlers[pid]
	return svc, ok
}

// errNotAllowed: the Allow option refused a direct stream's peer before a message.
var errNotAllowed = errors.New("p2p: peer not allowed on this protocol")

func (h *Host) readDirect(s network.Stream, pid protocol.ID, maxMsg int) {
	from := s.Conn().RemotePeer()
	key := directKey{peer: from, proto: pid}
	svc, ok := h.directService(pid)
	if !ok || !h.admit(from, svc.name, svc.allow) {
		_ = s.Reset()
		return
	}
	defer h.leaveGlobal()
	if !h.enterInbound(key) {
		h.refused(from, svc.name)
		_ = s.Reset()
		return
	}
	defer h.leaveInbound(key)
	stop := context.AfterFunc(h.ctx, func() { _ = s.Reset() })
	defer stop()
	wd := newWatchdog(s)
	defer wd.stop()
	r := bufio.NewReader(s)
	for {
		wd.arm(h.opts.Stream.IdleTimeout)
		msg, err := readFrameWith(r, maxMsg, func(n uint64) error {
			if svc, ok := h.directService(pid); ok && svc.allow != nil && !svc.allow(from) {
				return errNotAllowed
			}
			wd.arm(h.frameDeadline(n))
			return nil
		})
		if err != nil {
			if reason := frameFault(err, wd.stop(), false); reason != "" {
				h.invalid(InvalidInput{Peer: from, Protocol: svc.name, Reason: reason}, true)
			}
			h.log.Debug("direct stream ended", "peer", from, "protocol", pid, "err", err)
			_ = s.Reset()
			return
		}
		wd.stop() // the handler may block (back pressure): that is not the peer's stall
		if h.gater.IsBlocked(from) {
			_ = s.Reset()
			return
		}
		h.traffic.directIn.Add(int64(len(msg)))
		h.traffic.directMsgsIn.Add(1)
		if svc, ok := h.directService(pid); ok {
			svc.handler(from, msg)
		}
	}
}

func (h *Host) enterInbound(k directKey) bool {
	h.direct.mu.Lock()
	defer h.direct.mu.Unlock()
	if h.direct.inbound == nil {
		h.direct.inbound = map[directKey]int{}
	}
	if h.direct.inbound[k] >= maxDirectInbound {
		return false
	}
	h.direct.inbound[k]++
	return true
}

func (h *Host) leaveInbound(k directKey) {
	h.direct.mu.Lock()
	defer h.direct.mu.Unlock()
	if h.direct.inbound[k]--; h.direct.inbound[k] <= 0 {
		delete(h.direct.inbound, k)
	}
}

// Send queues msg for peer to on direct protocol name and returns at once; msg must not be modified
// afterwards. It fails if the host is closed, the peer is blocked or too many messages already wait.
// With Options.SendDelay the message joins the sender's queue only after the delay.
func (h *Host) Send(to peer.ID, name string, msg []byte) error {
	pid, err := h.protocolID(name)
	if err != nil {
		return err
	}
	if to == h.h.ID() {
		return fmt.Errorf("%w: direct message to ourselves", ErrConfig)
	}
	if h.gater.IsBlocked(to) {
		return fmt.Errorf("%w: %s", ErrBlocked, to)
	}
	s, err := h.sender(directKey{peer: to, proto: pid})
	if err != nil {
		return err
	}
	if h.delay != nil {
		queued := h.delay.push(func() {
			select {
			case s.queue <- msg:
			default:
				h.log.Debug("delayed direct message dropped: queue full", "peer", to)
			}
		})
		if !queued {
			return fmt.Errorf("%w: %s (send delay)", ErrQueueFull, to)
		}
		return nil
	}
	select {
	case s.queue <- msg:
		return nil
	default:
		return fmt.Errorf("%w: %s", ErrQueueFull, to)
	}
}

// sender returns the (peer, protocol) sender, starting its goroutine on first use. The closed check
// and wg.Add happen under h.mu, so Shutdown never waits on a WaitGroup that grows after it began.
func (h *Host) sender(k directKey) (*directSender, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	h.direct.mu.Lock()
	defer h.direct.mu.Unlock()
	if s, ok := h.direct.senders[k]; ok {
		return s, nil
	}
	if h.direct.senders == nil {
		h.direct.senders = map[directKey]*directSender{}
	}
	s := &directSender{queue: make(chan []byte, DirectQueue)}
	h.direct.senders[k] = s
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.runSender(k, s)
	}()
	return s, nil
}

// runSender writes queued messages to k's stream until the host shuts down, reopening the stream after
// a failure.
func (h *Host) runSender(k directKey, s *directSender) {
	var (
		st   network.Stream
		w    *bufio.Writer
		stop func() bool // cancels the reset-on-shutdown hook of st
	)
	drop := func(reset bool) {
		stop()
		if reset {
			_ = st.Reset()
		} else {
			_ = st.Close()
		}
		st, w, stop = nil, nil, nil
	}
	defer func() {
		if st != nil {
			drop(false)
		}
	}()
	// An idle stream is closed before the receiver's idle deadline would reset it (and lose whatever
	// was in flight then); the next message opens a new one.
	idle := time.NewTimer(h.opts.Stream.IdleTimeout / 2)
	defer idle.Stop()
	for {
		var msg []byte
		select {
		case <-h.ctx.Done():
			return
		case <-idle.C:
			if st != nil {
				drop(false)
			}
			continue
		case msg = <-s.queue:
		}
		idle.Reset(h.opts.Stream.IdleTimeout / 2)
		if st == nil {
			var err error
			if st, err = h.openDirectRetrying(k); err != nil {
				// This message is lost, and so is everything queued while we retried: it is stale by
				// now (the protocols above repeat what still matters), and delivering it whenever the
				// peer comes back would hand a peer that starts late news from long ago. The next
				// message tries again.
				lost := 1 + dropQueued(s.queue)
				h.log.Debug("opening direct stream", "peer", k.peer, "protocol", k.proto, "lost", lost, "err", err)
				continue
			}
			// A write blocked on a peer that stopped reading must not hold up Shutdown.
			cur := st
			stop = context.AfterFunc(h.ctx, func() { _ = cur.Reset() })
			w = bufio.NewWriterSize(st, 64<<10)
		}
		msgs, n, err := writeBatch(w, msg, s.queue)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			h.log.Debug("direct stream broke", "peer", k.peer, "protocol", k.proto, "err", err)
			drop(true)
			continue
		}
		h.traffic.directOut.Add(int64(n))
		h.traffic.directMsgsOut.Add(int64(msgs))
		h.traffic.directWritesOut.Add(1)
	}
}

// dropQueued empties queue without blocking and returns how many messages it held.
func dropQueued(queue chan []byte) int {
	for n := 0; ; n++ {
		select {
		case <-queue:
		default:
			return n
		}
	}
}

// writeBatch frames first and every message already waiting in queue (without blocking) into w, and
// returns the messages and payload bytes written.
func writeBatch(w *bufio.Writer, first []byte, queue chan []byte) (msgs, n int, err error) {
	if err := writeFrame(w, first); err != nil {
		return 0, 0, err
	}
	msgs, n = 1, len(first)
	for {
		select {
		case msg := <-queue:
			if err := writeFrame(w, msg); err != nil {
				return msgs, n, err
			}
			msgs, n = msgs+1, n+len(msg)
		default:
			return msgs, n, nil
		}
	}
}

// openDirectRetrying opens k's stream, retrying with growing pauses for up to directRetryFor: at
// start-up a peer is often reachable a moment before it serves the protocol, and a message held back
// a few hundred milliseconds is worth more than one dropped (its loss costs a consensus timeout).
// Messages queued meanwhile wait and go out in the first batch.
func (h *Host) openDirectRetrying(k directKey) (network.Stream, error) {
	pause := directRetryFirst
	deadline := time.Now().Add(directRetryFor)
	for {
		st, err := h.openDirect(k)
		if err == nil || time.Now().Add(pause).After(deadline) || h.gater.IsBlocked(k.peer) {
			return st, err
		}
		select {
		case <-h.ctx.Done():
			return nil, err
		case <-time.After(pause):
		}
		pause = min(2*pause, directRetryMax)
	}
}

func (h *Host) openDirect(k directKey) (network.Stream, error) {
	ctx, cancel := context.WithTimeout(h.ctx, directDialTimeout)
	defer cancel()
	st, err := h.h.NewStream(ctx, k.peer, k.proto)
	if err != nil {
		return nil, err
	}
	return st, nil
}
