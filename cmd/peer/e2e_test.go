package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

// testnet is a few `peer run`s in this process, on loopback, each with its own /status address.
type testnet struct {
	t      *testing.T
	dir    string
	gen    string // genesis path
	ids    []string
	keys   []string // key path per member index
	ports  []int    // libp2p TCP port per member index
	https  []string // --http address per member index
	cancel []context.CancelFunc
	done   []chan error
	logs   []*syncBuffer
}

// newTestnet writes n keys and a small genesis (no Byzantine member) for rounds rounds.
func newTestnet(t *testing.T, n, rounds int) *testnet {
	t.Helper()
	return newTestnetOf(t, n, n, rounds)
}

// newTestnetOf makes keys for n peers and a genesis whose members are the first `members` of them in
// peer ID order; with members < n the run is open (up to n members) and the others are volunteers.
func newTestnetOf(t *testing.T, n, members, rounds int) *testnet {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: runs real libp2p peers on loopback")
	}
	tn := &testnet{t: t, dir: t.TempDir()}
	byID := map[string]string{}
	for i := range n {
		path := filepath.Join(tn.dir, strconv.Itoa(i)+".key")
		key, err := p2p.LoadOrCreateKey(path)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		byID[id.String()] = path
		tn.ids = append(tn.ids, id.String())
	}
	spec := sim.Default()
	spec.Members, spec.Byzantine, spec.Attack = n, 0, "none"
	spec.Participation, spec.Schedule, spec.Rounds, spec.EvalEvery = 0.5, 10, rounds, 5
	all := slices.Sorted(slices.Values(tn.ids))
	g, err := genesis.New("peer-e2e", all[:members], spec)
	if err != nil {
		t.Fatal(err)
	}
	if members < n {
		g.Open, g.MaxMembers = true, n
		if err := g.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	tn.gen = filepath.Join(tn.dir, "genesis.json")
	if err := g.Save(tn.gen); err != nil {
		t.Fatal(err)
	}
	tn.ids = all // sorted: genesis member i is all[i]; the volunteers follow
	ports := freePorts(t, 2*n)
	for i, id := range tn.ids {
		tn.keys = append(tn.keys, byID[id])
		tn.ports = append(tn.ports, ports[2*i])
		tn.https = append(tn.https, "127.0.0.1:"+strconv.Itoa(ports[2*i+1]))
	}
	tn.cancel = make([]context.CancelFunc, n)
	tn.done = make([]chan error, n)
	tn.logs = make([]*syncBuffer, n)
	t.Cleanup(tn.stopAll)
	return tn
}

// addr is member i's full multiaddr.
func (tn *testnet) addr(i int) string {
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", tn.ports[i], tn.ids[i])
}

// start runs member i with the common flags plus extra.
func (tn *testnet) start(i int, extra ...string) {
	args := []string{"run", "--genesis", tn.gen, "--key", tn.keys[i], "--state", filepath.Join(tn.dir, "state-"+strconv.Itoa(i)),
		"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", tn.ports[i]), "--http", tn.https[i], "--log-format", "json"}
	args = append(args, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	tn.cancel[i], tn.done[i], tn.logs[i] = cancel, make(chan error, 1), &syncBuffer{}
	go func() {
		var out bytes.Buffer
		tn.done[i] <- run(ctx, args, &out, tn.logs[i])
	}()
}

// startVolunteer runs peer i the way a volunteer would: `peer --bootstrap ADDR --run ID` with no
// genesis file (fetched from the bootstrap peer) and its own key and state directory.
func (tn *testnet) startVolunteer(i int, bootstrap, runID string) {
	args := []string{"--bootstrap", bootstrap, "--run", runID, "--key", tn.keys[i], "--state", filepath.Join(tn.dir, "state-"+strconv.Itoa(i)),
		"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", tn.ports[i]), "--http", tn.https[i], "--log-format", "json"}
	ctx, cancel := context.WithCancel(context.Background())
	tn.cancel[i], tn.done[i], tn.logs[i] = cancel, make(chan error, 1), &syncBuffer{}
	go func() {
		var out bytes.Buffer
		tn.done[i] <- run(ctx, args, &out, tn.logs[i])
	}()
}

func (tn *testnet) stopAll() {
	for i, c := range tn.cancel {
		if c == nil {
			continue
		}
		c()
		select {
		case err := <-tn.done[i]:
			if err != nil {
				tn.t.Errorf("member %d: %v", i, err)
			}
		case <-time.After(20 * time.Second):
			tn.t.Errorf("member %d did not stop", i)
		}
		tn.cancel[i] = nil
		if tn.t.Failed() {
			tn.t.Logf("member %d log tail:\n%s", i, tail(tn.logs[i].String(), 3000))
		}
	}
}

// status fetches member i's /status, or nil while it does not answer.
func (tn *testnet) status(i int) map[string]any {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + tn.https[i] + "/status")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var m map[string]any
	if json.NewDecoder(resp.Body).Decode(&m) != nil {
		return nil
	}
	return m
}

// waitFor polls every member's status until ok holds for all of them or the timeout passes.
func (tn *testnet) waitFor(timeout time.Duration, what string, ok func(i int, s map[string]any) bool) {
	tn.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		all := true
		var last []map[string]any
		for i := range tn.ids {
			s := tn.status(i)
			last = append(last, s)
			if s == nil || !ok(i, s) {
				all = false
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			tn.t.Fatalf("%s: not reached after %v; last statuses: %v", what, timeout, brief(last))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func brief(ss []map[string]any) []string {
	var out []string
	for _, s := range ss {
		if s == nil {
			out = append(out, "nil")
			continue
		}
		out = append(out, fmt.Sprintf("round=%v attempt=%v peers=%v", s["round"], s["attempt"], s["peers"]))
	}
	return out
}

func num(s map[string]any, key string) float64 {
	f, _ := s[key].(float64)
	return f
}

func freePorts(t *testing.T, k int) []int {
	t.Helper()
	var out []int
	for range k {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// syncBuffer is a bytes.Buffer safe for a logger writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
