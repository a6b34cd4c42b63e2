package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"
)

// Bootstrap backoff: first retry after bootstrapFirstDelay, doubling up to bootstrapMaxDelay.
const (
	bootstrapFirstDelay = 250 * time.Millisecond
	bootstrapMaxDelay   = 8 * time.Second
)

// ErrNoBootstrap: none of the bootstrap peers could be reached.
var ErrNoBootstrap = errors.New("p2p: no bootstrap peer reachable")

// Bootstrap connects to the configured bootstrap peers in parallel, retrying each with exponential
// backoff until it connects or ctx ends (give ctx a deadline). It returns how many it reached and
// ErrNoBootstrap if none; with no bootstrap peers configured it returns (0, nil). With the DHT enabled
// it then bootstraps the routing table.
func (h *Host) Bootstrap(ctx context.Context) (int, error) {
	if len(h.bootstrap) == 0 {
		return 0, nil
	}
	var (
		mu        sync.Mutex
		connected int
		errs      []error
		wg        sync.WaitGroup
	)
	for _, info := range h.bootstrap {
		wg.Go(func() {
			err := h.connectWithRetry(ctx, info)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", info.ID, err))
				return
			}
			connected++
		})
	}
	wg.Wait()
	if connected == 0 {
		return 0, fmt.Errorf("%w: %w", ErrNoBootstrap, errors.Join(errs...))
	}
	for _, err := range errs {
		h.log.Warn("bootstrap peer unreachable", "err", err)
	}
	if h.dht != nil {
		if err := h.dht.Bootstrap(ctx); err != nil {
			h.log.Warn("DHT bootstrap failed", "err", err)
		}
	}
	return connected, nil
}

func (h *Host) connectWithRetry(ctx context.Context, info peer.AddrInfo) error {
	delay := bootstrapFirstDelay
	for attempt := 1; ; attempt++ {
		err := h.h.Connect(ctx, info)
		if err == nil {
			h.log.Info("connected to bootstrap peer", "peer", info.ID, "attempt", attempt)
			return nil
		}
		h.log.Debug("bootstrap connect failed", "peer", info.ID, "attempt", attempt, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("after %d attempts: %w (last error: %v)", attempt, ctx.Err(), err)
		case <-h.ctx.Done():
			t.Stop()
			return ErrClosed
		case <-t.C:
		}
		delay = min(2*delay, bootstrapMaxDelay)
	}
}

// Connect connects to the peer at addr, a multiaddr ending in /p2p/<id>.
func (h *Host) Connect(ctx context.Context, addr string) error {
	a, err := ma.NewMultiaddr(addr)
	if err != nil {
		return fmt.Errorf("%w: address %q: %v", ErrConfig, addr, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		return fmt.Errorf("%w: address %q must end in /p2p/<peer id>: %v", ErrConfig, addr, err)
	}
	return h.ConnectPeer(ctx, *info)
}

// ConnectPeer connects to a peer whose addresses are known (or discoverable through the DHT).
func (h *Host) ConnectPeer(ctx context.Context, info peer.AddrInfo) error {
	if h.gater.IsBlocked(info.ID) {
		return fmt.Errorf("%w: %s", ErrBlocked, info.ID)
	}
	h.h.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.TempAddrTTL)
	if err := h.h.Connect(ctx, info); err != nil {
		return fmt.Errorf("p2p: connecting to %s: %w", info.ID, err)
	}
	return nil
}
