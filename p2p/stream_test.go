package p2p_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/p2ptest"
	"github.com/libp2p/go-libp2p/core/peer"
)

func echo(_ context.Context, _ peer.ID, req []byte) ([]byte, error) {
	return append([]byte("echo:"), req...), nil
}

func TestRequestResponse(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 2)
		a, b := net.Hosts[0], net.Hosts[1]
		var sawFrom atomic.Value
		err := b.Handle("echo/1", 1<<20, func(ctx context.Context, from peer.ID, req []byte) ([]byte, error) {
			sawFrom.Store(from)
			return echo(ctx, from, req)
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		for _, size := range []int{0, 1, 1000, 3 << 20 / 4} {
			req := bytes.Repeat([]byte{'x'}, size)
			resp, err := a.Request(ctx, b.ID(), "echo/1", req, 1<<20)
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			if !bytes.Equal(resp, append([]byte("echo:"), req...)) {
				t.Fatalf("size %d: wrong response", size)
			}
		}
		if sawFrom.Load() != a.ID() {
			t.Fatalf("handler saw %v", sawFrom.Load())
		}
		if tr := a.Traffic(); tr.StreamOut == 0 || tr.StreamIn == 0 {
			t.Fatalf("requester traffic %+v", tr)
		}
		synctest.Wait() // the server counts its response after the requester has it
		if tr := b.Traffic(); tr.StreamOut != a.Traffic().StreamIn || tr.StreamIn != a.Traffic().StreamOut {
			t.Fatalf("server traffic %+v vs requester %+v", tr, a.Traffic())
		}
	})
}

func TestRequestErrors(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 3)
		a, b, c := net.Hosts[0], net.Hosts[1], net.Hosts[2]
		var calls atomic.Int64
		handler := func(ctx context.Context, from peer.ID, req []byte) ([]byte, error) {
			calls.Add(1)
			switch string(req) {
			case "fail":
				return nil, errors.New(strings.Repeat("no such height ", 100))
			case "big":
				return make([]byte, 5000), nil
			case "slow":
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return req, nil
		}
		if err := b.Handle("rpc/1", 100, handler); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()

		// A handler's error comes back as a RemoteError, truncated.
		_, err := a.Request(ctx, b.ID(), "rpc/1", []byte("fail"), 1000)
		var remote *p2p.RemoteError
		if !errors.As(err, &remote) || !errors.Is(err, p2p.ErrRemote) || len(remote.Msg) != 512 {
			t.Fatalf("handler failure: %v", err)
		}
		// A response above the requester's cap fails with ErrFrameTooLarge before it is read.
		if _, err := a.Request(ctx, b.ID(), "rpc/1", []byte("big"), 4999); !errors.Is(err, p2p.ErrFrameTooLarge) {
			t.Fatalf("oversized response: %v", err)
		}
		// A request above the server's cap is refused before the handler runs.
		before := calls.Load()
		if _, err := a.Request(ctx, b.ID(), "rpc/1", make([]byte, 101), 1000); err == nil {
			t.Fatal("oversized request served")
		}
		if calls.Load() != before {
			t.Fatal("handler ran for an oversized request")
		}
		// Exactly at the cap is fine.
		if _, err := a.Request(ctx, b.ID(), "rpc/1", make([]byte, 100), 1000); err != nil {
			t.Fatalf("request at the cap: %v", err)
		}
		// The requester's deadline bounds the exchange.
		short, stop := context.WithTimeout(ctx, 5*time.Second)
		start := time.Now()
		_, err = a.Request(short, b.ID(), "rpc/1", []byte("slow"), 1000)
		stop()
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Fatalf("deadline: %v after %v", err, time.Since(start))
		}
		// Unknown protocol, bad names, bad caps.
		if _, err := a.Request(ctx, c.ID(), "rpc/1", nil, 10); err == nil {
			t.Fatal("request to a peer without the handler succeeded")
		}
		if _, err := a.Request(ctx, b.ID(), "/abs", nil, 10); !errors.Is(err, p2p.ErrConfig) {
			t.Fatalf("absolute protocol name: %v", err)
		}
		if _, err := a.Request(ctx, b.ID(), "rpc/1", nil, 0); !errors.Is(err, p2p.ErrConfig) {
			t.Fatalf("zero response cap: %v", err)
		}
		if err := b.Handle("x", 0, handler); !errors.Is(err, p2p.ErrConfig) {
			t.Fatalf("zero request cap: %v", err)
		}
		// The server's timeout ends a handler that never returns.
		b.Unhandle("rpc/1")
		if _, err := a.Request(ctx, b.ID(), "rpc/1", []byte("x"), 10); err == nil {
			t.Fatal("request after Unhandle succeeded")
		}
	})
}

func TestHandlerTimeout(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetworkWith(t, 2, p2ptest.Config{Options: p2p.Options{Stream: p2p.StreamConfig{HandlerTimeout: 3 * time.Second}}})
		a, b := net.Hosts[0], net.Hosts[1]
		if err := b.Handle("slow/1", 10, func(ctx context.Context, _ peer.ID, _ []byte) ([]byte, error) {
			<-ctx.Done()
			return []byte("too late"), nil
		}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := a.Request(t.Context(), b.ID(), "slow/1", []byte("x"), 100)
		if err == nil || time.Since(start) != 3*time.Second {
			t.Fatalf("got %v after %v, want a reset after the 3s handler timeout", err, time.Since(start))
		}
	})
}

// TestConcurrencyPerPeer: with one slot per peer, a second concurrent request from the same peer is
// refused while a request from another peer is served.
func TestConcurrencyPerPeer(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetworkWith(t, 3, p2ptest.Config{Options: p2p.Options{Stream: p2p.StreamConfig{MaxConcurrentPerPeer: 1}}})
		a, b, c := net.Hosts[0], net.Hosts[1], net.Hosts[2]
		release := make(chan struct{})
		if err := b.Handle("hold/1", 10, func(ctx context.Context, _ peer.ID, req []byte) ([]byte, error) {
			if string(req) == "hold" {
				<-release
			}
			return req, nil
		}); err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		first := make(chan error, 1)
		go func() {
			_, err := a.Request(ctx, b.ID(), "hold/1", []byte("hold"), 10)
			first <- err
		}()
		synctest.Wait() // the first request now holds a's only slot at b

		// a's own outbound bound makes a second request wait rather than fail; give up after 1s.
		short, stop := context.WithTimeout(ctx, time.Second)
		if _, err := a.Request(short, b.ID(), "hold/1", []byte("quick"), 10); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second outbound request: %v", err)
		}
		stop()
		// Another peer is not affected.
		if _, err := c.Request(ctx, b.ID(), "hold/1", []byte("quick"), 10); err != nil {
			t.Fatalf("other peer: %v", err)
		}
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if _, err := a.Request(ctx, b.ID(), "hold/1", []byte("quick"), 10); err != nil {
			t.Fatalf("after release: %v", err)
		}
	})
}
