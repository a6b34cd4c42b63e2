package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Request/response streams. One stream carries one exchange:
//
//	request:  uvarint(len) || payload, then the requester closes its write side
//	response: status byte || uvarint(len) || payload
//
// status 0 carries the handler's response; status 1 carries a short error text from the handler. Every
// length is checked against the caller's cap before anything is allocated, and large payloads are read
// in steps so memory follows the bytes that actually arrive, not the bytes a header claims.

const (
	statusOK    = 0
	statusError = 1
	// maxErrorText caps the error text a handler's failure sends back.
	maxErrorText = 512
	// readStep is the largest single allocation a frame read makes ahead of data.
	readStep = 1 << 20
)

var (
	// ErrFrameTooLarge: a frame's length header exceeds the cap.
	ErrFrameTooLarge = errors.New("p2p: frame exceeds limit")
	// ErrBlocked: the peer is blocked.
	ErrBlocked = errors.New("p2p: peer is blocked")
	// ErrClosed: the host is closed.
	ErrClosed = errors.New("p2p: host closed")
	// ErrRemote is wrapped by RemoteError.
	ErrRemote = errors.New("p2p: remote handler failed")
)

// RemoteError is the error text a remote handler returned.
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return "p2p: remote handler failed: " + e.Msg }

// Unwrap makes errors.Is(err, ErrRemote) true.
func (e *RemoteError) Unwrap() error { return ErrRemote }

// Handler serves one request from peer from and returns the response payload. A returned error is sent
// back as text (first 512 bytes) and surfaces at the requester as a *RemoteError.
type Handler func(ctx context.Context, from peer.ID, req []byte) ([]byte, error)

// protocolID namespaces a stream protocol name under the prefix.
func (h *Host) protocolID(name string) (protocol.ID, error) {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, " \t\n") {
		return "", fmt.Errorf("%w: protocol name %q must be non-empty and relative", ErrConfig, name)
	}
	return protocol.ID(h.opts.ProtocolPrefix + "/" + name), nil
}

// HandleOption configures Handle and HandleDirect.
type HandleOption func(*handleOptions)

type handleOptions struct {
	allow func(peer.ID) bool
}

// Allow admits only peers for which allow returns true to the protocol. It is asked as soon as a
// stream opens, before a byte of it is read: a stream from any other peer is reset unread. On direct
// streams it is asked again before each message is read, so a peer that stops being allowed (a removed
// member) is cut off mid-stream. allow must be fast and safe for concurrent use. Without Allow every
// peer that is not blocked is served (as before this option existed).
func Allow(allow func(peer.ID) bool) HandleOption {
	return func(o *handleOptions) { o.allow = allow }
}

func collectOptions(opts []HandleOption) handleOptions {
	var o handleOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// Handle serves protocol name (e.g. "state/1", namespaced under the prefix) with handler. Requests
// longer than maxReq bytes are refused before they are read; requests from blocked peers or peers the
// Allow option refuses, beyond StreamConfig.MaxConcurrentPerPeer in flight from one peer or beyond
// StreamConfig.MaxInbound in all, are reset unread. A request must arrive within the frame deadline
// (StreamConfig.FrameTimeout, MinRate); a late, oversized, malformed or truncated request is reported
// as invalid input (see OnInvalidInput).
func (h *Host) Handle(name string, maxReq int, handler Handler, opts ...HandleOption) error {
	pid, err := h.protocolID(name)
	if err != nil {
		return err
	}
	if maxReq <= 0 || handler == nil {
		return fmt.Errorf("%w: handler for %s needs a positive request cap", ErrConfig, name)
	}
	o := collectOptions(opts)
	h.h.SetStreamHandler(pid, func(s network.Stream) { h.serve(s, name, maxReq, handler, o.allow) })
	return nil
}

// Unhandle stops serving protocol name.
func (h *Host) Unhandle(name string) {
	if pid, err := h.protocolID(name); err == nil {
		h.h.RemoveStreamHandler(pid)
	}
}

// admit decides, before anything is read, whether an inbound stream from from on protocol name is
// served, and takes a global inbound slot if so (release it with h.leaveGlobal). A peer the Allow
// option refuses is charged for it (abuse.go); one refused at the global bound is not: that is
// everyone's load, not its doing.
func (h *Host) admit(from peer.ID, name string, allow func(peer.ID) bool) bool {
	if h.gater.IsBlocked(from) {
		return false
	}
	if allow != nil && !allow(from) {
		h.refused(from, name)
		return false
	}
	if h.inboundAll.Add(1) > int64(h.opts.Stream.MaxInbound) {
		h.inboundAll.Add(-1)
		h.log.Debug("stream refused: too many inbound streams", "peer", from)
		return false
	}
	return true
}

func (h *Host) leaveGlobal() { h.inboundAll.Add(-1) }

func (h *Host) serve(s network.Stream, name string, maxReq int, handler Handler, allow func(peer.ID) bool) {
	from := s.Conn().RemotePeer()
	proto := s.Protocol()
	if !h.admit(from, name, allow) {
		_ = s.Reset()
		return
	}
	defer h.leaveGlobal()
	if !h.inbound.tryAcquire(from) {
		h.log.Debug("stream refused: too many concurrent requests", "peer", from, "protocol", proto)
		h.refused(from, name)
		_ = s.Reset()
		return
	}
	defer h.inbound.release(from)

	ctx, cancel := context.WithTimeout(h.ctx, h.opts.Stream.HandlerTimeout)
	defer cancel()
	// Resetting on ctx end also unblocks reads on transports without deadlines (mocknet).
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	_ = s.SetDeadline(time.Now().Add(h.opts.Stream.HandlerTimeout))

	wd := newWatchdog(s)
	wd.arm(h.opts.Stream.FrameTimeout)
	r := bufio.NewReader(s)
	req, err := readFrameWith(r, maxReq, func(n uint64) error {
		wd.arm(h.frameDeadline(n))
		return nil
	})
	timedOut := wd.stop()
	if err != nil {
		if reason := frameFault(err, timedOut, true); reason != "" {
			h.invalid(InvalidInput{Peer: from, Protocol: name, Reason: reason}, true)
		}
		h.log.Debug("bad request frame", "peer", from, "protocol", proto, "err", err)
		_ = s.Reset()
		return
	}
	h.traffic.streamIn.Add(int64(len(req)))
	resp, herr := handler(ctx, from, req)
	if ctx.Err() != nil {
		// Too late: the requester has been told the exchange failed (or soon will be).
		_ = s.Reset()
		return
	}
	w := bufio.NewWriter(s)
	if herr != nil {
		msg := herr.Error()
		if len(msg) > maxErrorText {
			msg = msg[:maxErrorText]
		}
		err = writeResponse(w, statusError, []byte(msg))
	} else {
		err = writeResponse(w, statusOK, resp)
		h.traffic.streamOut.Add(int64(len(resp)))
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		h.log.Debug("writing response failed", "peer", from, "protocol", proto, "err", err)
		_ = s.Reset()
		return
	}
	_ = s.Close()
}

// frameDeadline is how long a frame of n bytes may take to arrive once its header has.
func (h *Host) frameDeadline(n uint64) time.Duration {
	st := h.opts.Stream
	return st.FrameTimeout + time.Duration(float64(n)/float64(st.MinRate)*float64(time.Second))
}

// watchdog resets a stream when a deadline passes. It works on every transport (mocknet streams
// ignore SetReadDeadline), and tells afterwards whether it fired, so a read error can be blamed on a
// stalling peer rather than on the network.
type watchdog struct {
	t     *time.Timer
	fired atomic.Bool
}

func newWatchdog(s network.Stream) *watchdog {
	w := &watchdog{}
	w.t = time.AfterFunc(time.Hour, func() {
		w.fired.Store(true)
		_ = s.Reset()
	})
	w.t.Stop()
	return w
}

// arm (re)starts the deadline d from now.
func (w *watchdog) arm(d time.Duration) { w.t.Reset(d) }

// stop disarms the deadline and reports whether it had fired.
func (w *watchdog) stop() bool {
	w.t.Stop()
	return w.fired.Load()
}

// frameFault names the invalid input behind a frame-read error, or "" if the error says nothing
// against the peer (a reset, the host closing). A clean end before a frame starts is normal on a
// direct stream and "empty" on a request stream (an honest requester always sends one).
func frameFault(err error, timedOut, request bool) string {
	switch {
	case timedOut:
		return ReasonTimeout
	case errors.Is(err, ErrFrameTooLarge):
		return ReasonTooLarge
	case errors.Is(err, errFrameMalformed):
		return ReasonMalformed
	case errors.Is(err, errFrameTruncated):
		return ReasonTruncated
	case request && errors.Is(err, io.EOF):
		return ReasonEmpty
	}
	return ""
}

// Request sends req to peer to on protocol name and returns the response, which must be at most maxResp
// bytes. The exchange is bounded by ctx (its deadline becomes the stream deadline; cancelling resets the
// stream), and at most StreamConfig.MaxConcurrentPerPeer requests to one peer are in flight at a time.
// A handler failure is returned as a *RemoteError.
func (h *Host) Request(ctx context.Context, to peer.ID, name string, req []byte, maxResp int) ([]byte, error) {
	pid, err := h.protocolID(name)
	if err != nil {
		return nil, err
	}
	if maxResp <= 0 {
		return nil, fmt.Errorf("%w: response cap must be positive", ErrConfig)
	}
	if h.gater.IsBlocked(to) {
		return nil, fmt.Errorf("%w: %s", ErrBlocked, to)
	}
	if err := h.outbound.acquire(ctx, to); err != nil {
		return nil, err
	}
	defer h.outbound.release(to)

	s, err := h.h.NewStream(ctx, to, pid)
	if err != nil {
		return nil, fmt.Errorf("p2p: opening %s stream to %s: %w", pid, to, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	resp, err := exchange(s, req, maxResp)
	if err != nil {
		_ = s.Reset()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("p2p: request %s to %s: %w", pid, to, ctx.Err())
		}
		return nil, fmt.Errorf("p2p: request %s to %s: %w", pid, to, err)
	}
	_ = s.Close()
	h.traffic.streamOut.Add(int64(len(req)))
	h.traffic.streamIn.Add(int64(len(resp)))
	return resp, nil
}

func exchange(s network.Stream, req []byte, maxResp int) ([]byte, error) {
	w := bufio.NewWriter(s)
	if err := writeFrame(w, req); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := s.CloseWrite(); err != nil {
		return nil, err
	}
	return readResponse(bufio.NewReader(s), maxResp)
}

// readResponse reads a response (status byte, then a frame) of at most maxResp bytes; an error
// response becomes a *RemoteError.
func readResponse(r *bufio.Reader, maxResp int) ([]byte, error) {
	status, err := r.ReadByte()
	if err != nil {
		return nil, fmt.Errorf("reading response status: %w", err)
	}
	switch status {
	case statusOK:
		return readFrame(r, maxResp)
	case statusError:
		msg, err := readFrame(r, maxErrorText)
		if err != nil {
			return nil, err
		}
		return nil, &RemoteError{Msg: string(msg)}
	}
	return nil, fmt.Errorf("p2p: unknown response status %d", status)
}

func writeFrame(w io.Writer, payload []byte) error {
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(payload)))
	if _, err := w.Write(hdr[:n]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

func writeResponse(w io.Writer, status byte, payload []byte) error {
	if _, err := w.Write([]byte{status}); err != nil {
		return err
	}
	return writeFrame(w, payload)
}

var (
	// errFrameMalformed: a frame's length header is not a valid uvarint.
	errFrameMalformed = errors.New("p2p: malformed frame length")
	// errFrameTruncated: the stream ended cleanly inside a frame.
	errFrameTruncated = errors.New("p2p: truncated frame")
)

// readFrame reads one uvarint-length-prefixed frame of at most max bytes. The length is checked before
// any allocation, and the payload buffer grows in readStep steps as bytes arrive.
func readFrame(r *bufio.Reader, max int) ([]byte, error) { return readFrameWith(r, max, nil) }

// readFrameWith is readFrame with a hook that sees the length once the header is in and within the
// cap, before any payload is read; an error from it ends the read.
//
// Errors: io.EOF (wrapped) if the stream ended cleanly before the frame began; errFrameTruncated if it
// ended inside the frame; errFrameMalformed for a header that is not a uvarint; ErrFrameTooLarge for
// a length over max; otherwise the stream's error.
func readFrameWith(r *bufio.Reader, max int, onHeader func(n uint64) error) ([]byte, error) {
	n, err := readLength(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, max)
	}
	if onHeader != nil {
		if err := onHeader(n); err != nil {
			return nil, err
		}
	}
	buf := make([]byte, 0, min(int(n), readStep))
	for len(buf) < int(n) {
		k := min(int(n)-len(buf), readStep)
		start := len(buf)
		buf = slices.Grow(buf, k)[:start+k]
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = errFrameTruncated
			}
			return nil, fmt.Errorf("reading frame: %w", err)
		}
	}
	return buf, nil
}

// readLength reads a frame's uvarint length, classifying failures as readFrameWith documents.
func readLength(r *bufio.Reader) (uint64, error) {
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		b, err := r.ReadByte()
		if err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				err = errFrameTruncated
			}
			return 0, fmt.Errorf("reading frame length: %w", err)
		}
		if i == binary.MaxVarintLen64-1 && b > 1 {
			return 0, errFrameMalformed
		}
		if b < 0x80 {
			return x | uint64(b)<<(7*i), nil
		}
		x |= uint64(b&0x7f) << (7 * i)
	}
	return 0, errFrameMalformed
}

// peerSlots bounds concurrent streams per peer.
type peerSlots struct {
	limit int
	mu    sync.Mutex
	slots map[peer.ID]*slot
}

type slot struct {
	sem   chan struct{}
	users int // holders plus waiters; the entry is dropped at zero
}

func newPeerSlots(limit int) *peerSlots {
	return &peerSlots{limit: limit, slots: map[peer.ID]*slot{}}
}

func (p *peerSlots) get(id peer.ID) *slot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.slots[id]
	if !ok {
		s = &slot{sem: make(chan struct{}, p.limit)}
		p.slots[id] = s
	}
	s.users++
	return s
}

func (p *peerSlots) put(id peer.ID, s *slot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.users--; s.users == 0 {
		delete(p.slots, id)
	}
}

// acquire waits for a slot for id or for ctx to end.
func (p *peerSlots) acquire(ctx context.Context, id peer.ID) error {
	s := p.get(id)
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		p.put(id, s)
		return ctx.Err()
	}
}

// tryAcquire takes a slot for id if one is free.
func (p *peerSlots) tryAcquire(id peer.ID) bool {
	s := p.get(id)
	select {
	case s.sem <- struct{}{}:
		return true
	default:
		p.put(id, s)
		return false
	}
}

// release frees a slot taken by acquire or tryAcquire.
func (p *peerSlots) release(id peer.ID) {
	p.mu.Lock()
	s := p.slots[id]
	p.mu.Unlock()
	<-s.sem
	p.put(id, s)
}
