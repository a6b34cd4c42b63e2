package up

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/byzpp/byzpp/node/status"
)

// maxStatusBytes bounds a /status body (the curve of a long run included).
const maxStatusBytes = 64 << 20

func getStatus(ctx context.Context, c *http.Client, addr string, curve bool) (*status.Status, error) {
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
	var s status.Status
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxStatusBytes)).Decode(&s); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return &s, nil
}

// pollAll fetches every running, unfrozen peer's status concurrently (a stuck peer costs one client
// timeout, not one per peer); the result has nil for peers that did not answer.
func pollAll(ctx context.Context, c *http.Client, procs []*proc) []*status.Status {
	out := make([]*status.Status, len(procs))
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
