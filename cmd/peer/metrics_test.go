package main

import (
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// TestStatusAndMetricsNameOffences: with member 3 sending invalid messages, an honest peer's /status
// breaks rejections down by reason and names member 3 in its blame counts, and /metrics exports both
// with labels, with the failed-attempt count.
func TestStatusAndMetricsNameOffences(t *testing.T) {
	const n, rounds = 4, 20
	tn := newTestnet(t, n, rounds)
	for i := range n {
		var args []string
		for j := range n {
			if j != i {
				args = append(args, "--bootstrap", tn.addr(j))
			}
		}
		if i == n-1 {
			args = append(args, "--attack", "invalid")
		}
		tn.start(i, args...)
	}
	tn.waitFor(40*time.Second, "honest peers done", func(i int, s map[string]any) bool {
		return i == n-1 || num(s, "round") >= rounds
	})
	s := tn.status(0)
	byReason, _ := s["rejected_by"].(map[string]any)
	blame, _ := s["blame"].(map[string]any)
	if len(byReason) == 0 || blame["3"] == nil || s["attempts_failed"] == nil || s["penalised"] == nil {
		t.Fatalf("status: rejected_by %v, blame %v, attempts_failed %v, penalised %v", byReason, blame, s["attempts_failed"], s["penalised"])
	}
	resp, err := http.Get("http://" + tn.https[0] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^byzpp_blame\{kind="invalid",member="3"\} [1-9]`,
		`(?m)^byzpp_gossip_rejected_by_reason\{reason="[^"]+"\} [1-9]`,
		`(?m)^byzpp_attempts_failed [0-9]`,
		`(?m)^byzpp_peers [1-9]`,
	} {
		if !regexp.MustCompile(re).Match(body) {
			t.Errorf("/metrics has no line matching %s", re)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
