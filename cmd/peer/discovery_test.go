package main

import (
	"strings"
	"testing"
	"time"
)

// TestDHTDiscovery: four peers on loopback, the newcomers given only member 0 as --bootstrap, find
// each other through the DHT (every peer ends connected to every other: the DHT's own lookups and
// the rendezvous advertisements introduce them) and decide every round.
func TestDHTDiscovery(t *testing.T) {
	const n, rounds = 4, 15
	tn := newTestnet(t, n, rounds)
	tn.start(0, "--dht", "--dht-server")
	for i := 1; i < n; i++ {
		tn.start(i, "--dht", "--bootstrap", tn.addr(0))
	}
	tn.waitFor(45*time.Second, "every peer connected to every other and done", func(_ int, s map[string]any) bool {
		return num(s, "peers") >= n-1 && num(s, "round") >= rounds
	})
	digest := tn.status(0)["digest"]
	for i := 1; i < n; i++ {
		if d := tn.status(i)["digest"]; d != digest {
			t.Errorf("member %d ended on %v, member 0 on %v", i, d, digest)
		}
	}
}

// TestNoDHTNoDiscovery is the control for TestDHTDiscovery: without --dht, newcomers given only member
// 0 stay connected to member 0 alone, so it is the DHT that introduces them.
func TestNoDHTNoDiscovery(t *testing.T) {
	const n = 3
	tn := newTestnet(t, n, 1000)
	tn.start(0)
	for i := 1; i < n; i++ {
		tn.start(i, "--bootstrap", tn.addr(0))
	}
	tn.waitFor(20*time.Second, "newcomers connected to member 0", func(i int, s map[string]any) bool {
		return i == 0 || num(s, "peers") >= 1
	})
	time.Sleep(3 * time.Second)
	for i := 1; i < n; i++ {
		if s := tn.status(i); s == nil || num(s, "peers") != 1 {
			t.Errorf("member %d without --dht: %v", i, brief([]map[string]any{s}))
		}
	}
}

// TestDiscoveryFlagsChecked: --dht-server alone is refused.
func TestDiscoveryFlagsChecked(t *testing.T) {
	tn := newTestnet(t, 1, 1)
	var out, errb syncBuffer
	err := run(t.Context(), []string{"run", "--genesis", tn.gen, "--key", tn.keys[0], "--state", t.TempDir(), "--dht-server"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "--dht-server needs --dht") {
		t.Fatalf("err = %v", err)
	}
}
