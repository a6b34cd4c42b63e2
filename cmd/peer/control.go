package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/byzpp/byzpp/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

// maxControlPeers bounds the peers one control request names.
const maxControlPeers = 1024

// controlHandler serves POST /control/block?peers=ID,ID and POST /control/unblock?peers=ID,ID: they
// cut this peer off from the named peers (no connection, gossip or stream either way, as for a banned
// equivocator) or let them back. Test harnesses use it to make true partitions (`testnet up
// --partition`); it is served only with `peer run --control`, since anyone who can reach the --http
// address could otherwise isolate the peer. The answer lists the peers blocked afterwards.
func controlHandler(host *p2p.Host, logger *slog.Logger, block bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		ids, err := parsePeerList(r.URL.Query().Get("peers"), host.ID())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, id := range ids {
			if block {
				host.BlockPeer(id)
			} else {
				host.UnblockPeer(id)
			}
		}
		logger.Info("control", "block", block, "peers", len(ids))
		blocked := []string{}
		for _, p := range host.Gater().Blocked() {
			blocked = append(blocked, p.String())
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"blocked": blocked})
	}
}

// parsePeerList parses a comma-separated list of peer IDs, refusing an empty list, a bad ID and this
// peer's own.
func parsePeerList(v string, self peer.ID) ([]peer.ID, error) {
	parts := splitComma(v)
	if len(parts) == 0 {
		return nil, fmt.Errorf("peers: give ?peers=ID,ID")
	}
	if len(parts) > maxControlPeers {
		return nil, fmt.Errorf("peers: %d named, at most %d", len(parts), maxControlPeers)
	}
	out := make([]peer.ID, 0, len(parts))
	for _, s := range parts {
		id, err := peer.Decode(s)
		if err != nil {
			return nil, fmt.Errorf("peers: %q: %w", s, err)
		}
		if id == self {
			return nil, fmt.Errorf("peers: %s is this peer", s)
		}
		out = append(out, id)
	}
	return out, nil
}
