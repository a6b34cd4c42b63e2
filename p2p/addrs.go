package p2p

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Reaching every peer of a list. Direct messages need a connection to each member of a run, but a
// volunteer starts with one bootstrap address, and the members learn a newcomer's address only from
// the peer it dialled. So a peer serves, on ProtoAddrs, the addresses it knows for the peer IDs asked
// about (ServeAddrs), and dials the peers of a list it is not connected to with addresses learnt that
// way (ConnectAll; the DHT, when enabled, finds them too).

const (
	// ProtoAddrs is the stream protocol of address requests: a JSON list of peer IDs, answered with
	// a JSON object of their known multiaddrs.
	ProtoAddrs = "addrs/1"
	// MaxAddrsRequest bounds an addrs/1 request, maxAddrsResp its answer.
	MaxAddrsRequest = 64 << 10
	maxAddrsResp    = 1 << 20
	// maxAddrsAsked bounds the peer IDs of one request; maxAddrsEach the addresses returned per peer.
	maxAddrsAsked = 1 << 12
	maxAddrsEach  = 16
	// addrsVia is how many connected peers ConnectAll asks for addresses.
	addrsVia = 3
)

// ServeAddrs is h's handler of ProtoAddrs: it answers a JSON list of peer IDs with the addresses h
// knows for each.
func ServeAddrs(h Network) Handler {
	return func(_ context.Context, _ PeerID, req []byte) ([]byte, error) {
		ids, err := parseAddrsRequest(req)
		if err != nil {
			return nil, err
		}
		out := map[string][]string{}
		for _, id := range ids {
			if a := h.KnownAddrs(id); len(a) > 0 {
				out[id.String()] = a[:min(len(a), maxAddrsEach)]
			}
		}
		return json.Marshal(out)
	}
}

// parseAddrsRequest reads an addrs/1 request (a JSON list of peer IDs; the stream already bounds its
// size): at most maxAddrsAsked entries, those that are not peer IDs skipped.
func parseAddrsRequest(req []byte) ([]PeerID, error) {
	var ids []string
	if err := json.Unmarshal(req, &ids); err != nil {
		return nil, fmt.Errorf("addrs request: %w", err)
	}
	if len(ids) > maxAddrsAsked {
		return nil, fmt.Errorf("addrs request: %d peers asked, limit %d", len(ids), maxAddrsAsked)
	}
	out := make([]PeerID, 0, len(ids))
	for _, s := range ids {
		if id, err := DecodePeerID(s); err == nil {
			out = append(out, id)
		}
	}
	return out, nil
}

// parseAddrsResponse reads an addrs/1 answer, keeping for each wanted peer at most maxAddrsEach
// addresses that parse; anything else in it is ignored.
func parseAddrsResponse(raw []byte, wanted []string) map[string][]Multiaddr {
	var known map[string][]string
	if json.Unmarshal(raw, &known) != nil {
		return nil
	}
	out := map[string][]Multiaddr{}
	for _, m := range wanted {
		for _, s := range known[m] {
			if len(out[m]) == maxAddrsEach {
				break
			}
			if a, err := ParseMultiaddr(s); err == nil {
				out[m] = append(out[m], a)
			}
		}
	}
	return out
}

// ConnectAll dials the peers of the list (peer ID strings) h is not connected to: first at
// addresses known already (from an introduction, identify or the DHT), then — back to the bootstrap
// list if h has no connection at all — at addresses asked from a few connected peers over
// ProtoAddrs. Each dial and request is bounded by timeout.
func ConnectAll(ctx context.Context, h Network, peers []string, timeout time.Duration) {
	var missing []string
	for _, m := range peers {
		id, err := DecodePeerID(m)
		if err == nil && id != h.ID() && !h.Connected(id) && !h.IsBlocked(id) {
			missing = append(missing, m)
		}
	}
	if missing = dialKnown(ctx, h, missing, timeout); len(missing) == 0 {
		return
	}
	if len(h.Peers()) == 0 {
		bctx, cancel := context.WithTimeout(ctx, timeout)
		_, _ = h.Bootstrap(bctx)
		cancel()
	}
	req, err := json.Marshal(missing)
	if err != nil {
		return
	}
	asked := 0
	for _, via := range h.Peers() {
		if asked == addrsVia || len(missing) == 0 {
			return
		}
		asked++
		rctx, cancel := context.WithTimeout(ctx, timeout)
		raw, err := h.Request(rctx, via, ProtoAddrs, req, maxAddrsResp)
		cancel()
		if err != nil {
			continue
		}
		known := parseAddrsResponse(raw, missing)
		for _, m := range slices.Clone(missing) {
			id, _ := DecodePeerID(m)
			info := AddrInfo{ID: id, Addrs: known[m]}
			if len(info.Addrs) == 0 {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, timeout)
			err := h.ConnectPeer(cctx, info)
			cancel()
			if err == nil {
				missing = slices.DeleteFunc(missing, func(x string) bool { return x == m })
			}
		}
	}
}

// dialKnown dials, in parallel, the peers of missing whose addresses h knows, and returns those it
// did not reach.
func dialKnown(ctx context.Context, h Network, missing []string, timeout time.Duration) []string {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		reached = map[string]bool{}
	)
	for _, m := range missing {
		id, _ := DecodePeerID(m)
		if len(h.KnownAddrs(id)) == 0 {
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if h.ConnectPeer(cctx, AddrInfo{ID: id}) == nil {
				mu.Lock()
				reached[m] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return slices.DeleteFunc(missing, func(x string) bool { return reached[x] })
}
