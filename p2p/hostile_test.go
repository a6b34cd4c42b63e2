package p2p_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/p2ptest"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// rawRequest opens a stream to the handler and writes raw bytes, as a hostile peer could.
func rawRequest(t *testing.T, from, to *p2p.Host, proto string, payload []byte) network.Stream {
	t.Helper()
	s, err := from.LibP2P().NewStream(t.Context(), to.ID(), protocol.ID("/byzpp/"+proto))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(payload); err != nil {
		t.Fatal(err)
	}
	return s
}

func frame(b []byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(b))), b...) }

func TestInboundBoundAndHostileFrames(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetworkWith(t, 2, p2ptest.Config{Options: p2p.Options{Stream: p2p.StreamConfig{MaxConcurrentPerPeer: 1}}})
		a, b := net.Hosts[0], net.Hosts[1]
		var calls atomic.Int64
		release := make(chan struct{})
		if err := b.Handle("h/1", 1000, func(_ context.Context, _ peer.ID, req []byte) ([]byte, error) {
			calls.Add(1)
			if string(req) == "hold" {
				<-release
			}
			return req, nil
		}); err != nil {
			t.Fatal(err)
		}
		refused := func(s network.Stream) bool {
			_ = s.CloseWrite()
			_, err := io.ReadAll(s)
			return err != nil // a reset, not a clean response
		}

		holding := rawRequest(t, a, b, "h/1", frame([]byte("hold")))
		synctest.Wait()
		if calls.Load() != 1 {
			t.Fatal("first request not being handled")
		}
		if !refused(rawRequest(t, a, b, "h/1", frame([]byte("quick")))) {
			t.Fatal("request beyond the per-peer bound was served")
		}
		close(release)
		_ = holding.CloseWrite()
		if resp, err := io.ReadAll(holding); err != nil || string(resp) != "\x00\x04hold" {
			t.Fatalf("held request: %q, %v", resp, err)
		}

		hostile := map[string][]byte{
			"length above cap":  binary.AppendUvarint(nil, 1001),
			"length 2^62":       binary.AppendUvarint(nil, 1<<62),
			"varint overflow":   {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
			"truncated payload": append(binary.AppendUvarint(nil, 10), 1, 2, 3),
			"empty":             {},
		}
		before := calls.Load()
		for name, payload := range hostile {
			if !refused(rawRequest(t, a, b, "h/1", payload)) {
				t.Errorf("%s: served", name)
			}
		}
		if calls.Load() != before {
			t.Fatal("handler ran for a hostile frame")
		}
		// The server is still fine, once it has finished refusing (each refusal holds its slot of
		// the per-peer bound until its goroutine ends).
		synctest.Wait()
		if _, err := a.Request(t.Context(), b.ID(), "h/1", []byte("ok"), 10); err != nil {
			t.Fatal(err)
		}
	})
}

// TestHostileResponses: a responder sending garbage makes Request fail cleanly.
func TestHostileResponses(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 2)
		a, b := net.Hosts[0], net.Hosts[1]
		responses := map[string][]byte{
			"unknown status":  {7, 0},
			"huge frame":      append([]byte{0}, binary.AppendUvarint(nil, 1<<40)...),
			"truncated":       append([]byte{0}, binary.AppendUvarint(nil, 5)...),
			"huge error text": append([]byte{1}, binary.AppendUvarint(nil, 1<<20)...),
			"nothing":         nil,
			"varint overflow": {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		}
		for name, resp := range responses {
			b.LibP2P().SetStreamHandler("/byzpp/bad/1", func(s network.Stream) {
				_, _ = io.ReadAll(s)
				_, _ = s.Write(resp)
				_ = s.Close()
			})
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			got, err := a.Request(ctx, b.ID(), "bad/1", []byte("hi"), 100)
			cancel()
			if err == nil {
				t.Errorf("%s: accepted %q", name, got)
			}
		}
	})
}

// TestSlowlorisOutsiderBlocked: an outsider holding streams open — idle request streams, and streams
// of members-only protocols refused unread — is blocked (disconnected, its new connections closed)
// before any of its streams reaches a deadline, because refusals count against an untrusted peer. A
// trusted peer doing the same is never blocked, and an outsider's block lapses once it becomes
// trusted (a newcomer refused by a member that did not yet know it was admitted).
func TestSlowlorisOutsiderBlocked(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 3)
		victim, member, outsider := net.Hosts[0], net.Hosts[1], net.Hosts[2]
		var trustOutsider atomic.Bool
		trusted := func(p peer.ID) bool { return p == member.ID() || (p == outsider.ID() && trustOutsider.Load()) }
		victim.SetTrusted(trusted)
		var box inbox
		if err := victim.HandleDirect("d/1", 1<<20, box.handle, p2p.Allow(trusted)); err != nil {
			t.Fatal(err)
		}
		if err := victim.Handle("s/1", 1024, echo); err != nil { // served to anyone, as state/1
			t.Fatal(err)
		}
		var got reports
		victim.OnInvalidInput(got.add)

		start := time.Now()
		// What testnet's slowloris does per identity: 16 idle streams of each protocol.
		hold := func(from *p2p.Host) (refused int) {
			for range 16 {
				for _, proto := range []string{"d/1", "s/1"} {
					s, err := from.LibP2P().NewStream(t.Context(), victim.ID(), protocol.ID("/byzpp/"+proto))
					if err != nil {
						refused++
						continue
					}
					t.Cleanup(func() { _ = s.Reset() })
					_, _ = s.Write([]byte{}) // idle: nothing but the protocol header
				}
				synctest.Wait()
			}
			return refused
		}
		hold(outsider)
		synctest.Wait()
		if !victim.IsBlocked(outsider.ID()) || victim.Connected(outsider.ID()) {
			t.Fatal("slowloris outsider not blocked")
		}
		const frameTimeout = 10 * time.Second // StreamConfig's default
		if el := time.Since(start); el >= frameTimeout {
			t.Fatalf("blocked after %v (bubble time), not before the first frame deadline", el)
		}
		if n := victim.InvalidInputs().Snapshot()[p2p.ReasonRefused]; n < 10 {
			t.Fatalf("%d refusals counted", n)
		}
		if r := got.reasons(outsider.ID()); len(r) != 0 {
			t.Fatalf("refusals reported to the hook (which blames members): %v", r)
		}
		// Its new connections are closed as they come.
		if _, err := net.Mocknet.ConnectPeers(outsider.ID(), victim.ID()); err == nil {
			synctest.Wait()
			if victim.Connected(outsider.ID()) {
				t.Fatal("blocked outsider's new connection kept")
			}
		}

		hold(member)
		synctest.Wait()
		if victim.IsBlocked(member.ID()) || !victim.Connected(member.ID()) {
			t.Fatal("a trusted peer blocked for holding streams")
		}

		// The outsider is admitted: its block lapses, it connects, and its messages are delivered.
		trustOutsider.Store(true)
		if victim.IsBlocked(outsider.ID()) || len(victim.Gater().Blocked()) != 0 {
			t.Fatal("block did not lapse once the peer was trusted")
		}
		net.Connect(t, outsider, victim)
		if err := outsider.Send(victim.ID(), "d/1", []byte("hello")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if m := box.from(outsider.ID()); len(m) != 1 || string(m[0]) != "hello" {
			t.Fatalf("admitted newcomer's messages: %q", m)
		}
	})
}

// rejectBad rejects messages starting with "bad", and accepts the rest.
func rejectBad(_ context.Context, _ peer.ID, data []byte) (any, p2p.ValidationResult, string) {
	if len(data) >= 3 && string(data[:3]) == "bad" {
		return nil, p2p.Reject, "bad"
	}
	return string(data), p2p.Accept, ""
}

// TestSybilBlocked: fresh identities publishing forged gossip are each blocked after three rejected
// messages (not only graylisted), and once their IP range has spent rangeFactor × InvalidThreshold
// offences, the whole range is blocked for untrusted peers: the identities still connected from it are
// cut off and fresh ones refused at once — while a trusted member from the same range is untouched.
func TestSybilBlocked(t *testing.T) {
	bubble(t, func(t *testing.T) {
		const sybils = 4 // enough for the range: 3 × ceil(10/3) = 12 offences each, 40 for the /24
		net := p2ptest.NewMockNetworkWith(t, 3+sybils, p2ptest.Config{Unconnected: true})
		victim, member, late := net.Hosts[0], net.Hosts[1], net.Hosts[2] // all in 10.0.0.0/24
		for _, h := range net.Hosts[1:] {
			net.Connect(t, h, victim) // only to the victim, so every forgery comes from its sybil
		}
		victim.SetTrusted(func(p peer.ID) bool { return p == member.ID() })
		if _, err := victim.JoinTopic("test", rejectBad); err != nil {
			t.Fatal(err)
		}
		memberTopic, err := member.JoinTopic("test", rejectBad)
		if err != nil {
			t.Fatal(err)
		}
		var topics []p2p.Topic
		for _, h := range net.Hosts[3:] {
			tp, err := h.JoinTopic("test", acceptAll) // a liar's own validator lets anything out
			if err != nil {
				t.Fatal(err)
			}
			topics = append(topics, tp)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := p2ptest.WaitForPeers(ctx, append(topics, memberTopic), 1); err != nil {
			t.Fatal(err)
		}
		for i, tp := range topics[:sybils-1] {
			for k := range 5 {
				_ = tp.Publish(ctx, fmt.Appendf(nil, "bad-%d-%d", i, k))
				synctest.Wait()
			}
			id := net.Hosts[3+i].ID()
			if !victim.IsBlocked(id) || victim.Connected(id) {
				t.Fatalf("sybil %d not blocked (blocked %v, connected %v): %v", i, victim.IsBlocked(id), victim.Connected(id), victim.InvalidInputs().Snapshot())
			}
			if len(victim.Gater().BlockedRanges()) != 0 {
				t.Fatalf("range blocked after %d sybils", i+1)
			}
		}
		// The last one tips the range: it is cut off, and so is the late identity, never offending.
		if !victim.Connected(late.ID()) {
			t.Fatal("late identity not connected before the range block")
		}
		_ = topics[sybils-1].Publish(ctx, []byte("bad-last"))
		synctest.Wait()
		if r := victim.Gater().BlockedRanges(); len(r) != 1 || r[0].String() != "10.0.0.0/24" {
			t.Fatalf("blocked ranges %v", r)
		}
		if victim.Connected(late.ID()) || victim.Connected(net.Hosts[2+sybils].ID()) {
			t.Fatal("untrusted peers of a blocked range still connected")
		}
		if _, err := net.Mocknet.ConnectPeers(late.ID(), victim.ID()); err == nil {
			synctest.Wait()
			if victim.Connected(late.ID()) {
				t.Fatal("fresh identity from a blocked range admitted")
			}
		}
		if !victim.Connected(member.ID()) || victim.IsBlocked(member.ID()) {
			t.Fatal("trusted member of the range cut off")
		}
		if err := memberTopic.Publish(ctx, []byte("msg")); err != nil {
			t.Fatal(err)
		}
		if n := victim.InvalidInputs().Snapshot()[p2p.ReasonGossipRejected]; n < 3*(sybils-1) {
			t.Fatalf("%d rejected gossip messages counted", n)
		}
		// The range block ends after BlockFor.
		time.Sleep(10*time.Minute + time.Second)
		if len(victim.Gater().BlockedRanges()) != 0 {
			t.Fatal("range still blocked after BlockFor")
		}
		if _, err := net.Mocknet.ConnectPeers(late.ID(), victim.ID()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if !victim.Connected(late.ID()) {
			t.Fatal("range block did not end")
		}
	})
}
