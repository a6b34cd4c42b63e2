package up

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// peerStatus is what a peer's /status serves (cmd/peer's statusJSON). RejectedBy, Blame and
// Penalised (the peers gossipsub graylists) are always present, possibly empty; they are nil only from
// a peer binary that predates them, and the report then says "total" and leaves penalties null.
type peerStatus struct {
	Member          int               `json:"member"`
	Round           uint64            `json:"round"`
	Attempt         uint32            `json:"attempt"`
	Leader          int               `json:"leader"`
	Step            string            `json:"step"`
	Loss            Num               `json:"loss"`
	Gap             Num               `json:"gap"`
	Digest          string            `json:"digest"`
	RoundsPerSec    Num               `json:"rounds_per_second"`
	Decided         uint64            `json:"decided"`
	Evidence        uint64            `json:"evidence"`
	BadProposals    uint64            `json:"bad_proposals"`
	Rejected        uint64            `json:"rejected"`
	Ignored         uint64            `json:"ignored"`
	GossipBytesIn   int64             `json:"gossip_bytes_in"`
	GossipBytesOut  int64             `json:"gossip_bytes_out"`
	PayloadBytesIn  int64             `json:"payload_bytes_in"`
	PayloadBytesOut int64             `json:"payload_bytes_out"`
	WireBytesIn     int64             `json:"wire_bytes_in"`
	WireBytesOut    int64             `json:"wire_bytes_out"`
	DirectMsgsOut   int64             `json:"direct_msgs_out"`
	DirectWritesOut int64             `json:"direct_writes_out"`
	RejectedBy      map[string]uint64 `json:"rejected_by"`
	AttemptsFailed  uint64            `json:"attempts_failed"`
	Penalised       []string          `json:"penalised"`
	// Blame counts, per member index and kind of offence, the misbehaviour this peer attributed.
	Blame map[string]map[string]uint64 `json:"blame"`
	Curve []curvePoint                 `json:"curve"`
}

type curvePoint struct {
	Round int `json:"round"`
	Epoch Num `json:"epoch"`
	Loss  Num `json:"loss"`
	Gap   Num `json:"gap"`
	// Held-out scores (null, read as NaN, from a peer without a test set or one that predates them).
	TestLoss     Num `json:"test_loss"`
	TestAccuracy Num `json:"test_accuracy"`
}

// maxStatusBytes bounds a /status body (the curve of a long run included).
const maxStatusBytes = 64 << 20

func getStatus(ctx context.Context, c *http.Client, addr string, curve bool) (*peerStatus, error) {
	url := "http://" + addr + "/status"
	if curve {
		url += "?curve=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var s peerStatus
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxStatusBytes)).Decode(&s); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return &s, nil
}

// pollAll fetches every running, unfrozen peer's status concurrently (a stuck peer costs one client
// timeout, not one per peer); the result has nil for peers that did not answer.
func pollAll(ctx context.Context, c *http.Client, procs []*proc) []*peerStatus {
	out := make([]*peerStatus, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		if !p.running() || p.frozen {
			continue
		}
		wg.Go(func() {
			if s, err := getStatus(ctx, c, p.http, false); err == nil {
				out[i] = s
			}
		})
	}
	wg.Wait()
	return out
}

// bytes returns the protocol message bytes the peer received and sent (gossip, direct streams and
// requests), or only its gossip bytes when it does not count the others. Wire counts (every byte of
// every stream) are reported apart: libp2p's meters update them only once a second.
func (s *peerStatus) bytes() (in, out int64) {
	if s.PayloadBytesIn > 0 || s.PayloadBytesOut > 0 {
		return s.PayloadBytesIn, s.PayloadBytesOut
	}
	return s.GossipBytesIn, s.GossipBytesOut
}
