package p2p_test

import (
	"context"
	"encoding/binary"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/p2ptest"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// rawRequest opens a stream to the handler and writes raw bytes, as a hostile peer could.
func rawRequest(t *testing.T, from, to *p2p.Host, proto string, payload []byte) network.Stream {
	t.Helper()
	s, err := from.LibP2P().NewStream(t.Context(), to.ID(), protocol.ID("/byzpp/"+proto))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(payload); err != nil {
		t.Fatal(err)
	}
	return s
}

func frame(b []byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(b))), b...) }

func TestInboundBoundAndHostileFrames(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetworkWith(t, 2, p2ptest.Config{Options: p2p.Options{Stream: p2p.StreamConfig{MaxConcurrentPerPeer: 1}}})
		a, b := net.Hosts[0], net.Hosts[1]
		var calls atomic.Int64
		release := make(chan struct{})
		if err := b.Handle("h/1", 1000, func(_ context.Context, _ peer.ID, req []byte) ([]byte, error) {
			calls.Add(1)
			if string(req) == "hold" {
				<-release
			}
			return req, nil
		}); err != nil {
			t.Fatal(err)
		}
		refused := func(s network.Stream) bool {
			_ = s.CloseWrite()
			_, err := io.ReadAll(s)
			return err != nil // a reset, not a clean response
		}

		holding := rawRequest(t, a, b, "h/1", frame([]byte("hold")))
		synctest.Wait()
		if calls.Load() != 1 {
			t.Fatal("first request not being handled")
		}
		if !refused(rawRequest(t, a, b, "h/1", frame([]byte("quick")))) {
			t.Fatal("request beyond the per-peer bound was served")
		}
		close(release)
		_ = holding.CloseWrite()
		if resp, err := io.ReadAll(holding); err != nil || string(resp) != "\x00\x04hold" {
			t.Fatalf("held request: %q, %v", resp, err)
		}

		hostile := map[string][]byte{
			"length above cap":  binary.AppendUvarint(nil, 1001),
			"length 2^62":       binary.AppendUvarint(nil, 1<<62),
			"varint overflow":   {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
			"truncated payload": append(binary.AppendUvarint(nil, 10), 1, 2, 3),
			"empty":             {},
		}
		before := calls.Load()
		for name, payload := range hostile {
			if !refused(rawRequest(t, a, b, "h/1", payload)) {
				t.Errorf("%s: served", name)
			}
		}
		if calls.Load() != before {
			t.Fatal("handler ran for a hostile frame")
		}
		// The server is still fine, once it has finished refusing (each refusal holds its slot of
		// the per-peer bound until its goroutine ends).
		synctest.Wait()
		if _, err := a.Request(t.Context(), b.ID(), "h/1", []byte("ok"), 10); err != nil {
			t.Fatal(err)
		}
	})
}

// TestHostileResponses: a responder sending garbage makes Request fail cleanly.
func TestHostileResponses(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 2)
		a, b := net.Hosts[0], net.Hosts[1]
		responses := map[string][]byte{
			"unknown status":  {7, 0},
			"huge frame":      append([]byte{0}, binary.AppendUvarint(nil, 1<<40)...),
			"truncated":       append([]byte{0}, binary.AppendUvarint(nil, 5)...),
			"huge error text": append([]byte{1}, binary.AppendUvarint(nil, 1<<20)...),
			"nothing":         nil,
			"varint overflow": {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		}
		for name, resp := range responses {
			b.LibP2P().SetStreamHandler("/byzpp/bad/1", func(s network.Stream) {
				_, _ = io.ReadAll(s)
				_, _ = s.Write(resp)
				_ = s.Close()
			})
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			got, err := a.Request(ctx, b.ID(), "bad/1", []byte("hi"), 100)
			cancel()
			if err == nil {
				t.Errorf("%s: accepted %q", name, got)
			}
		}
	})
}
