package node

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/byzpp/byzpp/p2p"
	"slices"
	"sync"
)

// Reaching every member. Direct messages need a connection to each member, but a volunteer starts
// with one bootstrap address, and the members learn a newcomer's address only from the peer it
// dialled. So a Peer serves, on protocol addrs/1, the addresses its peerstore holds for the peer IDs
// asked about, and dials the members of its epoch it is not connected to with addresses learnt that
// way (the DHT, when enabled, finds them too).

const (
	protoAddrs = "addrs/1"
	// maxAddrsAsked bounds the peer IDs of one addrs/1 request; maxAddrsEach the addresses returned
	// per peer.
	maxAddrsAsked = 1 << 12
	maxAddrsEach  = 16
	maxAddrsResp  = 1 << 20
)

// serveAddrs answers a JSON list of peer IDs with the addresses known for each.
func (p *Peer) serveAddrs(_ context.Context, _ p2p.PeerID, req []byte) ([]byte, error) {
	ids, err := parseAddrsRequest(req)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, id := range ids {
		s := id.String()
		if a := p.cfg.Host.KnownAddrs(id); len(a) > 0 {
			out[s] = a[:min(len(a), maxAddrsEach)]
		}
	}
	return json.Marshal(out)
}

// parseAddrsRequest reads an addrs/1 request (a JSON list of peer IDs; the stream already bounds its
// size): at most maxAddrsAsked entries, those that are not peer IDs skipped.
func parseAddrsRequest(req []byte) ([]p2p.PeerID, error) {
	var ids []string
	if err := json.Unmarshal(req, &ids); err != nil {
		return nil, fmt.Errorf("addrs request: %w", err)
	}
	if len(ids) > maxAddrsAsked {
		return nil, fmt.Errorf("addrs request: %d peers asked, limit %d", len(ids), maxAddrsAsked)
	}
	out := make([]p2p.PeerID, 0, len(ids))
	for _, s := range ids {
		if id, err := p2p.DecodePeerID(s); err == nil {
			out = append(out, id)
		}
	}
	return out, nil
}

// parseAddrsResponse reads an addrs/1 answer, keeping for each wanted member at most maxAddrsEach
// addresses that parse; anything else in it is ignored.
func parseAddrsResponse(raw []byte, wanted []string) map[string][]p2p.Multiaddr {
	var known map[string][]string
	if json.Unmarshal(raw, &known) != nil {
		return nil
	}
	out := map[string][]p2p.Multiaddr{}
	for _, m := range wanted {
		for _, s := range known[m] {
			if len(out[m]) == maxAddrsEach {
				break
			}
			if a, err := p2p.ParseMultiaddr(s); err == nil {
				out[m] = append(out[m], a)
			}
		}
	}
	return out
}

// connectMembers dials the given members this peer is not connected to, with addresses asked from
// the peers it is connected to (a few of them).
func (p *Peer) connectMembers(ctx context.Context, members []string) {
	h := p.cfg.Host
	var missing []string
	for _, m := range members {
		id, err := p2p.DecodePeerID(m)
		if err == nil && id != h.ID() && !h.Connected(id) && !h.IsBlocked(id) {
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 {
		return
	}
	// Addresses learnt earlier (from an introduction, identify or the DHT) are tried first; a peer
	// left with no connection at all (its bootstrap peer left) goes back to its bootstrap list.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		reached = map[string]bool{}
	)
	for _, m := range missing {
		id, _ := p2p.DecodePeerID(m)
		if len(h.KnownAddrs(id)) == 0 {
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, requestTimeout)
			defer cancel()
			if h.ConnectPeer(cctx, p2p.AddrInfo{ID: id}) == nil {
				mu.Lock()
				reached[m] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	missing = slices.DeleteFunc(missing, func(x string) bool { return reached[x] })
	if len(missing) == 0 {
		return
	}
	if len(h.Peers()) == 0 {
		bctx, cancel := context.WithTimeout(ctx, requestTimeout)
		_, _ = h.Bootstrap(bctx)
		cancel()
	}
	req, err := json.Marshal(missing)
	if err != nil {
		return
	}
	asked := 0
	for _, via := range h.Peers() {
		if asked == 3 || len(missing) == 0 {
			return
		}
		asked++
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		raw, err := h.Request(rctx, via, protoAddrs, req, maxAddrsResp)
		cancel()
		if err != nil {
			continue
		}
		known := parseAddrsResponse(raw, missing)
		for _, m := range slices.Clone(missing) {
			id, _ := p2p.DecodePeerID(m)
			info := p2p.AddrInfo{ID: id, Addrs: known[m]}
			if len(info.Addrs) == 0 {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, requestTimeout)
			err := h.ConnectPeer(cctx, info)
			cancel()
			if err == nil {
				missing = slices.DeleteFunc(missing, func(x string) bool { return x == m })
			}
		}
	}
}

// ProtoGenesis is the stream protocol (under the p2p prefix) on which peers serve the run's genesis
// file, so that a volunteer needs only a bootstrap address (and, to be sure of the run, its id).
const ProtoGenesis = "genesis/1"

// MaxGenesisSize bounds a genesis file fetched from a peer.
const MaxGenesisSize = 1 << 20

// serveGenesis answers with the canonical genesis encoding; a request naming another run id (32
// bytes) is refused.
func (p *Peer) serveGenesis(_ context.Context, _ p2p.PeerID, req []byte) ([]byte, error) {
	run, err := p.cfg.Genesis.RunID()
	if err != nil {
		return nil, err
	}
	if len(req) == len(run) && string(req) != string(run[:]) {
		return nil, errNotMine
	}
	return p.cfg.Genesis.Encode()
}
