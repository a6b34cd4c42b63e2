package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// fullMesh returns the --bootstrap flags naming every member but i.
func (tn *testnet) fullMesh(i int) []string {
	var args []string
	for j := range tn.ids {
		if j != i {
			args = append(args, "--bootstrap", tn.addr(j))
		}
	}
	return args
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String()
}

// TestControlPartition: with --control, member 3 blocking the others and they blocking it is a true
// partition: the majority keeps deciding while member 3, running, decides nothing; after unblocking,
// member 3 catches up and all agree.
func TestControlPartition(t *testing.T) {
	const n, rounds = 4, 100000
	tn := newTestnet(t, n, rounds)
	for i := range n {
		tn.start(i, append(tn.fullMesh(i), "--control")...)
	}
	tn.waitFor(30*time.Second, "5 rounds", func(_ int, s map[string]any) bool { return num(s, "round") >= 5 })
	ctl := func(i int, verb string, members ...int) {
		var ids []string
		for _, m := range members {
			ids = append(ids, tn.ids[m])
		}
		if code, body := post(t, "http://"+tn.https[i]+"/control/"+verb+"?peers="+strings.Join(ids, ",")); code != http.StatusOK {
			t.Fatalf("%s on member %d: %d %s", verb, i, code, body)
		}
	}
	ctl(3, "block", 0, 1, 2)
	for i := range 3 {
		ctl(i, "block", 3)
	}
	time.Sleep(500 * time.Millisecond) // messages in flight land
	cut := num(tn.status(3), "round")
	majority := num(tn.status(0), "round")
	// Slowly: attempts led by member 3 time out, and sampled rounds wait the collect window for it.
	tn.waitFor(40*time.Second, "the majority decides 5 more rounds", func(i int, s map[string]any) bool {
		return i == 3 || num(s, "round") >= majority+5
	})
	if s := tn.status(3); num(s, "round") != cut || num(s, "peers") != 0 {
		t.Fatalf("cut-off member 3 moved from round %v: %v", cut, brief([]map[string]any{s}))
	}
	ctl(3, "unblock", 0, 1, 2)
	for i := range 3 {
		ctl(i, "unblock", 3)
	}
	target := num(tn.status(0), "round") + 5
	tn.waitFor(45*time.Second, "member 3 catches up", func(_ int, s map[string]any) bool { return num(s, "round") >= target })
}

// TestControlRefusals: the endpoints exist only with --control, take only POST and only valid,
// foreign peer IDs.
func TestControlRefusals(t *testing.T) {
	tn := newTestnet(t, 2, 100000)
	tn.start(0, "--control")
	tn.start(1)
	tn.waitFor(20*time.Second, "status up", func(int, map[string]any) bool { return true })
	other := tn.ids[1]
	for _, tc := range []struct {
		member int
		method string
		query  string
		want   int
	}{
		{0, http.MethodGet, "?peers=" + other, http.StatusMethodNotAllowed},
		{0, http.MethodPost, "", http.StatusBadRequest},
		{0, http.MethodPost, "?peers=notapeer", http.StatusBadRequest},
		{0, http.MethodPost, "?peers=" + tn.ids[0], http.StatusBadRequest},
		{0, http.MethodPost, "?peers=" + other, http.StatusOK},
		{1, http.MethodPost, "?peers=" + tn.ids[0], http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+tn.https[tc.member]+"/control/block"+tc.query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s member %d %q: %d, want %d", tc.method, tc.member, tc.query, resp.StatusCode, tc.want)
		}
	}
	if _, err := peer.Decode(other); err != nil {
		t.Fatal(err)
	}
}

// TestPublishDelay: with every message held 100ms, a round (round messages, proposal, two votes:
// at least two sequential hops) takes at least 200ms, where loopback peers otherwise decide tens of
// rounds a second; the run still ends with everyone agreeing.
func TestPublishDelay(t *testing.T) {
	const n, rounds = 3, 6
	tn := newTestnet(t, n, rounds)
	for i := range n {
		tn.start(i, append(tn.fullMesh(i), "--publish-delay", "100ms")...)
	}
	tn.waitFor(40*time.Second, "done", func(_ int, s map[string]any) bool { return num(s, "round") >= rounds })
	for i := range n {
		s := tn.status(i)
		if rps := num(s, "rounds_per_second"); rps > 5 {
			t.Errorf("member %d decided %.1f rounds/s with a 100ms delay per message", i, rps)
		}
		if s["digest"] != tn.status(0)["digest"] {
			t.Errorf("member %d disagrees", i)
		}
	}
}
