package main

import (
	"encoding/hex"
	"github.com/byzpp/byzpp/node/genesis"
	"path/filepath"
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

// TestMembersIntroduceEachOther: without --dht, newcomers given only member 0 still end connected to
// every member: a peer asks its connections for the addresses of the members it lacks (addrs/1).
func TestMembersIntroduceEachOther(t *testing.T) {
	const n = 3
	tn := newTestnet(t, n, 1000)
	tn.start(0)
	for i := 1; i < n; i++ {
		tn.start(i, "--bootstrap", tn.addr(0))
	}
	tn.waitFor(30*time.Second, "every member connected to every other", func(i int, s map[string]any) bool {
		return num(s, "peers") >= n-1
	})
}

// TestVolunteerJoinsOnLoopback: an open run of four members; a volunteer whose key is not in the
// genesis starts with member 0 as its only bootstrap, follows the run, asks to join, becomes a member
// by a decided change, and ends on the same model as everyone. It is given no genesis file: it
// fetches it from member 0 and checks it against the run id.
func TestVolunteerJoinsOnLoopback(t *testing.T) {
	const n, members, rounds = 5, 4, 400
	tn := newTestnetOf(t, n, members, rounds)
	tn.start(0)
	for i := 1; i < members; i++ {
		tn.start(i, "--bootstrap", tn.addr(0)) // member 0 introduces the others to each other
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if s := tn.status(0); s != nil && num(s, "round") >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the members do not decide: %v", brief([]map[string]any{tn.status(0)}))
		}
	}
	g, err := genesis.Load(tn.gen)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := g.RunID()
	tn.startVolunteer(members, tn.addr(0), hex.EncodeToString(id[:8]))
	tn.waitFor(90*time.Second, "every peer done, the volunteer a member", func(i int, s map[string]any) bool {
		return num(s, "round") >= rounds && num(s, "member") >= 0
	})
	digest := tn.status(0)["digest"]
	for i := 1; i < n; i++ {
		if d := tn.status(i)["digest"]; d != digest {
			t.Errorf("peer %d ended on %v, member 0 on %v", i, d, digest)
		}
	}
	if !strings.Contains(tn.logs[members].String(), "member from this round on") {
		t.Errorf("the volunteer never became a member:\n%s", tail(tn.logs[members].String(), 2000))
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

// TestFetchedGenesisMustMatchRun: a volunteer that names the run it wants refuses a bootstrap peer
// serving another run's genesis, and one with neither a genesis nor a bootstrap is told what to give.
func TestFetchedGenesisMustMatchRun(t *testing.T) {
	tn := newTestnet(t, 1, 100000)
	tn.start(0)
	tn.waitFor(20*time.Second, "member 0 up", func(int, map[string]any) bool { return true })
	dir := t.TempDir()
	var out, errb syncBuffer
	err := run(t.Context(), []string{"--bootstrap", tn.addr(0), "--run", "00112233aabbccdd",
		"--key", filepath.Join(dir, "k"), "--state", filepath.Join(dir, "s")}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "not the --run") {
		t.Fatalf("err = %v", err)
	}
	err = run(t.Context(), []string{"run", "--key", filepath.Join(dir, "k"), "--state", filepath.Join(dir, "s")}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "--bootstrap ADDR to fetch") {
		t.Fatalf("err = %v", err)
	}
}
