package p2p_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/p2ptest"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/proto"
)

// reports collects invalid-input reports.
type reports struct {
	mu  sync.Mutex
	all []p2p.InvalidInput
}

func (r *reports) add(in p2p.InvalidInput) {
	r.mu.Lock()
	r.all = append(r.all, in)
	r.mu.Unlock()
}

func (r *reports) reasons(p peer.ID) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, in := range r.all {
		if in.Peer == p {
			out = append(out, in.Reason)
		}
	}
	return out
}

// rawPeer adds a bare libp2p host (no gossipsub of its own, which would replace a raw gossipsub stream
// with its own) to the network and connects it to to.
func rawPeer(t *testing.T, net *p2ptest.Network, to *p2p.Host) host.Host {
	t.Helper()
	h, err := net.Mocknet.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	// It takes the victim's gossipsub stream and ignores it, so the victim counts it as a gossip peer.
	h.SetStreamHandler(pubsub.GossipSubID_v11, func(s network.Stream) { _, _ = io.Copy(io.Discard, s) })
	if err := net.Mocknet.LinkAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Mocknet.ConnectPeers(h.ID(), to.ID()); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	return h
}

// subscribeRaw writes gossipsub RPCs announcing subscriptions to topics, batch at a time, on a raw
// gossipsub stream, as a hostile peer could; it returns the error that stopped it, if any. The stream
// stays open until the test ends (gossipsub forgets a peer's subscriptions when its stream closes).
func subscribeRaw(t *testing.T, from host.Host, to *p2p.Host, topics []string, batch int) error {
	t.Helper()
	s, err := from.NewStream(t.Context(), to.ID(), pubsub.GossipSubID_v11)
	if err != nil {
		return err
	}
	t.Cleanup(func() { _ = s.Reset() })
	yes := true
	for chunk := range slices.Chunk(topics, batch) {
		rpc := &pb.RPC{}
		for _, topic := range chunk {
			rpc.Subscriptions = append(rpc.Subscriptions, &pb.RPC_SubOpts{Topicid: &topic, Subscribe: &yes})
		}
		b, err := proto.Marshal(rpc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(append(binary.AppendUvarint(nil, uint64(len(b))), b...)); err != nil {
			return err
		}
		synctest.Wait() // let the victim take it in, so a block takes effect between RPCs
	}
	return nil
}

func randomTopics(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%08x/%d", prefix, i*2654435761, i)
	}
	return out
}

// TestSubscriptionFloodCapped: an outsider subscribing to tens of thousands of topics leaves at most
// MaxTopicsPerPeer tracked on the victim, none outside the protocol prefix, and the victim's heap does
// not grow with the flood; the run's own topics still work.
func TestSubscriptionFloodCapped(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowlist=%v", strict), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				// Never block here: the flood must be absorbed even from a peer that stays.
				net := p2ptest.NewMockNetworkWith(t, 2, p2ptest.Config{Options: p2p.Options{
					Abuse: p2p.AbuseConfig{InvalidThreshold: -1}}, Unconnected: true})
				victim, friend := net.Hosts[0], net.Hosts[1]
				if strict {
					for _, h := range net.Hosts[:2] {
						h.AllowTopics("round/run1")
					}
				}
				net.ConnectAll(t)
				attacker := rawPeer(t, net, victim)
				var got reports
				victim.OnInvalidInput(got.add)
				var topics []p2p.Topic
				for _, h := range []*p2p.Host{victim, friend} {
					tp, err := h.JoinTopic("round/run1", acceptAll)
					if err != nil {
						t.Fatal(err)
					}
					topics = append(topics, tp)
				}
				if err := p2ptest.WaitForPeers(t.Context(), topics, 1); err != nil {
					t.Fatal(err)
				}

				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				// The run's topic first, then 40,000 others, half under the protocol prefix.
				flood := append([]string{"/byzpp/round/run1"},
					append(randomTopics(20_000, "/byzpp/x/"), randomTopics(20_000, "/random/")...)...)
				if err := subscribeRaw(t, attacker, victim, flood, 60); err != nil {
					t.Fatalf("flood refused early: %v", err)
				}
				synctest.Wait()
				runtime.GC()
				runtime.ReadMemStats(&after)

				max := 16 + 1 // and round/run1, which this host joined
				if strict {
					max = 1 // only round/run1 is tracked
				}
				if n := victim.TrackedTopics(attacker.ID()); n > max {
					t.Fatalf("%d topics tracked for the attacker, cap %d", n, max)
				}
				if ps := p2p.TopicPeers(victim, "/byzpp/round/run1"); !slices.Contains(ps, attacker.ID()) {
					t.Fatalf("the attacker's subscription to the run's topic was not tracked: %v", ps)
				}
				for _, topic := range []string{flood[100], flood[20_000], flood[20_001], flood[len(flood)-1]} {
					if ps := p2p.TopicPeers(victim, topic); len(ps) != 0 {
						t.Fatalf("topic %s tracked: %v", topic, ps)
					}
				}
				// 40,000 topics at ~400 bytes each would be ~16 MB of gossipsub state.
				if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4<<20 {
					t.Fatalf("heap grew by %d bytes during the flood", grew)
				}
				reasons := got.reasons(attacker.ID())
				if len(reasons) == 0 {
					t.Fatal("the flood was not reported")
				}
				if victim.InvalidInputs().Total() == 0 {
					t.Fatal("the flood was not counted")
				}
				// The run's topic still carries messages between the honest peers.
				if err := topics[1].Publish(t.Context(), []byte("still here")); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				for {
					m, err := topics[0].NextMessage(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if string(m.Data) == "still here" {
						break
					}
				}
			})
		})
	}
}

// TestSubscriptionFloodBlocked: with the default threshold the flooder is blocked and disconnected,
// and stays blocked only for AbuseConfig.BlockFor.
func TestSubscriptionFloodBlocked(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetworkWith(t, 1, p2ptest.Config{Options: p2p.Options{
			Abuse: p2p.AbuseConfig{BlockFor: time.Minute}}})
		victim := net.Hosts[0]
		attacker := rawPeer(t, net, victim)
		_ = subscribeRaw(t, attacker, victim, randomTopics(5_000, "/random/"), 50)
		synctest.Wait()
		if !victim.IsBlocked(attacker.ID()) {
			t.Fatal("flooder not blocked")
		}
		if victim.Connected(attacker.ID()) {
			t.Fatal("flooder still connected")
		}
		if s, ok := victim.PeerScore(attacker.ID()); ok && s > p2p.GraylistThreshold {
			t.Logf("score %v (the block came first)", s)
		}
		time.Sleep(time.Minute + time.Second)
		if victim.IsBlocked(attacker.ID()) {
			t.Fatal("still blocked after BlockFor")
		}
	})
}

// openRaw opens a raw stream to protocol proto (under the default prefix) and writes payload; nil
// if the far end reset it while it opened.
func openRaw(t *testing.T, from, to *p2p.Host, proto string, payload []byte) network.Stream {
	t.Helper()
	s, err := from.LibP2P().NewStream(t.Context(), to.ID(), protocol.ID("/byzpp/"+proto))
	if err != nil {
		// Protocol negotiation can already see the far end's reset of a refused stream.
		if !errors.Is(err, network.ErrReset) && !strings.Contains(err.Error(), "reset") {
			t.Fatal(err)
		}
		return nil
	}
	if len(payload) > 0 {
		_, _ = s.Write(payload) // may fail already if the far end refused the stream at once
	}
	return s
}

// wasReset reports whether the far end reset s (a read fails with something other than EOF).
func wasReset(s network.Stream) bool {
	if s == nil {
		return true
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(s)
		done <- err
	}()
	synctest.Wait()
	select {
	case err := <-done:
		return err != nil
	default:
		_ = s.Reset()
		<-done
		return false
	}
}

// TestSlowlorisStreamsClosed: a direct stream that trickles a frame, one that sends nothing, and a
// request stream that never finishes its request are each reset at their deadline, and reported.
func TestSlowlorisStreamsClosed(t *testing.T) {
	bubble(t, func(t *testing.T) {
		st := p2p.StreamConfig{FrameTimeout: 5 * time.Second, MinRate: 1000, IdleTimeout: time.Minute}
		net := p2ptest.NewMockNetworkWith(t, 2, p2ptest.Config{Options: p2p.Options{Stream: st}})
		victim, attacker := net.Hosts[0], net.Hosts[1]
		var got reports
		victim.OnInvalidInput(got.add)
		if err := victim.HandleDirect("d/1", 1<<20, func(peer.ID, []byte) {}); err != nil {
			t.Fatal(err)
		}
		if err := victim.Handle("r/1", 1<<20, func(context.Context, peer.ID, []byte) ([]byte, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}

		// A 10,000-byte frame may take 5 s + 10,000/1000 s = 15 s once its header is in.
		trickle := openRaw(t, attacker, victim, "d/1", append(binary.AppendUvarint(nil, 10_000), 1, 2, 3))
		time.Sleep(14 * time.Second)
		synctest.Wait()
		if n := p2p.InboundStreams(victim); n != 1 {
			t.Fatalf("%d inbound streams before the frame deadline", n)
		}
		time.Sleep(2 * time.Second)
		if !wasReset(trickle) {
			t.Fatal("trickling direct stream not reset after its frame deadline")
		}

		// A complete message, then silence: reset after IdleTimeout.
		idle := openRaw(t, attacker, victim, "d/1", append(binary.AppendUvarint(nil, 2), "hi"...))
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if n := p2p.InboundStreams(victim); n != 1 {
			t.Fatalf("%d inbound streams before the idle deadline", n)
		}
		time.Sleep(2 * time.Second)
		if !wasReset(idle) {
			t.Fatal("idle direct stream not reset")
		}

		// Half a request header, never finished.
		req := openRaw(t, attacker, victim, "r/1", []byte{0x80})
		time.Sleep(6 * time.Second)
		if !wasReset(req) {
			t.Fatal("stalled request not reset")
		}
		if n := p2p.InboundStreams(victim); n != 0 {
			t.Fatalf("%d inbound streams left", n)
		}
		if r := got.reasons(attacker.ID()); !slices.Equal(r, []string{"timeout", "timeout", "timeout"}) {
			t.Fatalf("reports %v", r)
		}
	})
}

// TestSenderClosesIdleStream: an honest sender closes its idle direct stream before the receiver's
// idle deadline, so nothing is reported and the next message still arrives.
func TestSenderClosesIdleStream(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetworkWith(t, 2, p2ptest.Config{Options: p2p.Options{
			Stream: p2p.StreamConfig{IdleTimeout: 10 * time.Second}}})
		a, b := net.Hosts[0], net.Hosts[1]
		var box inbox
		var got reports
		b.OnInvalidInput(got.add)
		if err := b.HandleDirect("d/1", 100, box.handle); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := a.Send(b.ID(), "d/1", []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Minute)
		}
		synctest.Wait()
		if n := len(box.from(a.ID())); n != 3 {
			t.Fatalf("%d of 3 messages", n)
		}
		if r := got.reasons(a.ID()); len(r) != 0 {
			t.Fatalf("honest sender reported: %v", r)
		}
	})
}

// TestNonMemberDirectStreamResetUnread: Allow refuses a peer's direct stream before a byte is read,
// charging it as a refusal (never reported to the hook); an allowed peer is served; a peer that stops
// being allowed is cut off before its next message.
func TestNonMemberDirectStreamResetUnread(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 3)
		victim, member, outsider := net.Hosts[0], net.Hosts[1], net.Hosts[2]
		var mu sync.Mutex
		members := map[peer.ID]bool{member.ID(): true}
		isMember := func(p peer.ID) bool {
			mu.Lock()
			defer mu.Unlock()
			return members[p]
		}
		var box inbox
		var got reports
		victim.OnInvalidInput(got.add)
		if err := victim.HandleDirect("d/1", 1<<20, box.handle, p2p.Allow(isMember)); err != nil {
			t.Fatal(err)
		}
		big := make([]byte, 1<<20)
		s := openRaw(t, outsider, victim, "d/1", append(binary.AppendUvarint(nil, uint64(len(big))), big[:1000]...))
		if !wasReset(s) {
			t.Fatal("outsider's stream not reset")
		}
		if tr := victim.Traffic(); tr.DirectIn != 0 || tr.DirectMsgsIn != 0 {
			t.Fatalf("outsider's bytes read: %+v", tr)
		}
		if c := victim.InvalidInputs().Snapshot(); c[p2p.ReasonRefused] != 1 || victim.InvalidInputs().Total() != 1 {
			t.Fatalf("a refused stream counted as %v", c)
		}
		if r := got.reasons(outsider.ID()); len(r) != 0 {
			t.Fatalf("a refusal reported to the hook: %v", r)
		}

		if err := member.Send(victim.ID(), "d/1", []byte("one")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		mu.Lock()
		delete(members, member.ID())
		mu.Unlock()
		if err := member.Send(victim.ID(), "d/1", []byte("two")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := box.from(member.ID()); len(got) != 1 || string(got[0]) != "one" {
			t.Fatalf("member's messages: %q", got)
		}
		if len(box.from(outsider.ID())) != 0 {
			t.Fatal("outsider's message delivered")
		}
	})
}

// TestRequestAllow: Allow on Handle refuses requests from other peers before reading them.
func TestRequestAllow(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 3)
		server, member, outsider := net.Hosts[0], net.Hosts[1], net.Hosts[2]
		var calls int
		if err := server.Handle("m/1", 100, func(_ context.Context, _ peer.ID, req []byte) ([]byte, error) {
			calls++
			return req, nil
		}, p2p.Allow(func(p peer.ID) bool { return p == member.ID() })); err != nil {
			t.Fatal(err)
		}
		if _, err := member.Request(t.Context(), server.ID(), "m/1", []byte("x"), 10); err != nil {
			t.Fatal(err)
		}
		if _, err := outsider.Request(t.Context(), server.ID(), "m/1", []byte("x"), 10); err == nil {
			t.Fatal("outsider served")
		}
		if calls != 1 {
			t.Fatalf("%d handler calls", calls)
		}
	})
}

// TestInvalidFramesCountedAndPenalised: every invalid frame is reported with its peer, protocol and
// reason; an untrusted peer is blocked (and disconnected) at the threshold, a trusted one only
// reported.
func TestInvalidFramesCountedAndPenalised(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetworkWith(t, 3, p2ptest.Config{Options: p2p.Options{
			Abuse: p2p.AbuseConfig{InvalidThreshold: 4, InvalidWindow: time.Minute, BlockFor: time.Hour}}})
		victim, member, outsider := net.Hosts[0], net.Hosts[1], net.Hosts[2]
		victim.SetTrusted(func(p peer.ID) bool { return p == member.ID() })
		var got reports
		victim.OnInvalidInput(got.add)
		if err := victim.Handle("r/1", 100, func(context.Context, peer.ID, []byte) ([]byte, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
		if err := victim.HandleDirect("d/1", 100, func(peer.ID, []byte) {}); err != nil {
			t.Fatal(err)
		}
		bad := []struct {
			proto   string
			payload []byte
			reason  string
		}{
			{"r/1", binary.AppendUvarint(nil, 101), "too-large"},
			{"d/1", binary.AppendUvarint(nil, 1<<40), "too-large"},
			{"d/1", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "malformed"},
			{"r/1", append(binary.AppendUvarint(nil, 10), 1, 2), "truncated"},
		}
		for _, from := range []*p2p.Host{member, outsider} {
			for _, b := range bad {
				s := openRaw(t, from, victim, b.proto, b.payload)
				if s == nil {
					t.Fatalf("%s on %s refused before it was read", b.reason, b.proto)
				}
				_ = s.CloseWrite()
				if !wasReset(s) {
					t.Fatalf("%s on %s not reset", b.reason, b.proto)
				}
			}
		}
		synctest.Wait()
		want := []string{"too-large", "too-large", "malformed", "truncated"}
		for _, p := range []peer.ID{member.ID(), outsider.ID()} {
			if r := got.reasons(p); !slices.Equal(r, want) {
				t.Fatalf("reports for %s: %v, want %v", p, r, want)
			}
		}
		if victim.IsBlocked(member.ID()) || !victim.Connected(member.ID()) {
			t.Fatal("trusted peer blocked")
		}
		if !victim.IsBlocked(outsider.ID()) || victim.Connected(outsider.ID()) {
			t.Fatal("untrusted peer not blocked at the threshold")
		}
		if n := victim.InvalidInputs().Snapshot()["too-large"]; n != 4 {
			t.Fatalf("too-large counted %d times", n)
		}
		// What the caller finds counts too, but does not call the hook back.
		victim.ReportInvalid(member.ID(), "d/1", "bad-signature")
		if r := got.reasons(member.ID()); len(r) != 4 {
			t.Fatalf("hook called for a caller's report: %v", r)
		}
	})
}

// TestInboundStreamLimit: beyond StreamConfig.MaxInbound streams in all, new ones are reset unread.
func TestInboundStreamLimit(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetworkWith(t, 3, p2ptest.Config{Options: p2p.Options{
			Stream: p2p.StreamConfig{MaxInbound: 2}}})
		victim := net.Hosts[0]
		if err := victim.HandleDirect("d/1", 100, func(peer.ID, []byte) {}); err != nil {
			t.Fatal(err)
		}
		frame := append(binary.AppendUvarint(nil, 2), "hi"...)
		held := []network.Stream{openRaw(t, net.Hosts[1], victim, "d/1", frame), openRaw(t, net.Hosts[2], victim, "d/1", frame)}
		synctest.Wait()
		if n := p2p.InboundStreams(victim); n != 2 {
			t.Fatalf("%d inbound streams", n)
		}
		if !wasReset(openRaw(t, net.Hosts[1], victim, "d/1", frame)) {
			t.Fatal("stream beyond the global limit served")
		}
		for _, s := range held {
			_ = s.Close()
		}
		synctest.Wait()
		if n := p2p.InboundStreams(victim); n != 0 {
			t.Fatalf("%d inbound streams after closing", n)
		}
	})
}

// TestNewConnectionRatePerRange: new inbound connections from one /24 beyond the burst are closed
// until the bucket refills; an exempt range is never limited; a trusted peer is not limited.
func TestNewConnectionRatePerRange(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetworkWith(t, 6, p2ptest.Config{Unconnected: true, Options: p2p.Options{
			Abuse: p2p.AbuseConfig{NewConnRate: 0.1, NewConnBurst: 2, ExemptNets: []string{}}}})
		victim := net.Hosts[0]
		victim.SetTrusted(func(p peer.ID) bool { return p == net.Hosts[5].ID() })
		for _, h := range net.Hosts[1:] {
			// Every test host is in 10.0.0.0/24; each dials the victim (inbound there).
			if _, err := net.Mocknet.ConnectPeers(h.ID(), victim.ID()); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
		}
		var connected []bool
		for _, h := range net.Hosts[1:] {
			connected = append(connected, victim.Connected(h.ID()))
		}
		if want := []bool{true, true, false, false, true}; !slices.Equal(connected, want) {
			t.Fatalf("connected %v, want %v", connected, want)
		}
		time.Sleep(10 * time.Second) // one token at 0.1/s
		if _, err := net.Mocknet.ConnectPeers(net.Hosts[3].ID(), victim.ID()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if !victim.Connected(net.Hosts[3].ID()) {
			t.Fatal("no connection after the bucket refilled")
		}
		// Outbound connections are not limited.
		if _, err := net.Mocknet.ConnectPeers(victim.ID(), net.Hosts[4].ID()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if !victim.Connected(net.Hosts[4].ID()) {
			t.Fatal("outbound connection closed")
		}
	})
}

func TestNewConnectionRateExempt(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetworkWith(t, 6, p2ptest.Config{Unconnected: true, Options: p2p.Options{
			Abuse: p2p.AbuseConfig{NewConnRate: 0.1, NewConnBurst: 1, ExemptNets: []string{"10.0.0.0/24"}}}})
		victim := net.Hosts[0]
		for _, h := range net.Hosts[1:] {
			if _, err := net.Mocknet.ConnectPeers(h.ID(), victim.ID()); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		for _, h := range net.Hosts[1:] {
			if !victim.Connected(h.ID()) {
				t.Fatal("exempt range limited")
			}
		}
	})
}
