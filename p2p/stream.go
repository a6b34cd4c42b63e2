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

// Handle serves protocol name (e.g. "state/1", namespaced under the prefix) with handler. Requests
// longer than maxReq bytes are refused before they are read; requests from blocked peers, or beyond
// StreamConfig.MaxConcurrentPerPeer in flight from one peer, are reset.
func (h *Host) Handle(name string, maxReq int, handler Handler) error {
	pid, err := h.protocolID(name)
	if err != nil {
		return err
	}
	if maxReq <= 0 || handler == nil {
		return fmt.Errorf("%w: handler for %s needs a positive request cap", ErrConfig, name)
	}
	h.h.SetStreamHandler(pid, func(s network.Stream) { h.serve(s, maxReq, handler) })
	return nil
}

// Unhandle stops serving protocol name.
func (h *Host) Unhandle(name string) {
	if pid, err := h.protocolID(name); err == nil {
		h.h.RemoveStreamHandler(pid)
	}
}

func (h *Host) serve(s network.Stream, maxReq int, handler Handler) {
	from := s.Conn().RemotePeer()
	proto := s.Protocol()
	if h.gater.IsBlocked(from) {
		_ = s.Reset()
		return
	}
	if !h.inbound.tryAcquire(from) {
		h.log.Debug("stream refused: too many concurrent requests", "peer", from, "protocol", proto)
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

	r := bufio.NewReader(s)
	req, err := readFrame(r, maxReq)
	if err != nil {
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
	r := bufio.NewReader(s)
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

// readFrame reads one uvarint-length-prefixed frame of at most max bytes. The length is checked before
// any allocation, and the payload buffer grows in readStep steps as bytes arrive.
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, fmt.Errorf("reading frame length: %w", err)
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, max)
	}
	buf := make([]byte, 0, min(int(n), readStep))
	for len(buf) < int(n) {
		k := min(int(n)-len(buf), readStep)
		start := len(buf)
		buf = slices.Grow(buf, k)[:start+k]
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			return nil, fmt.Errorf("reading frame: %w", err)
		}
	}
	return buf, nil
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
