package memnet_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/memnet"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// hosts builds n connected hosts; the network closes when the test ends (inside the bubble, so a
// leaked goroutine fails it).
func hosts(t *testing.T, n int, opts p2p.Options) (*memnet.Network, []*memnet.Host) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	net := memnet.New(opts)
	t.Cleanup(net.Close)
	var out []*memnet.Host
	for range n {
		k, _, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			t.Fatal(err)
		}
		h, err := net.AddHost(k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	net.ConnectAll()
	return net, out
}

func TestDirectInOrderPerSender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, hs := hosts(t, 3, p2p.Options{})
		var mu sync.Mutex
		got := map[p2p.PeerID][]int{}
		err := hs[0].HandleDirect("d/1", 64, func(from p2p.PeerID, msg []byte) {
			n, _ := strconv.Atoi(string(msg))
			mu.Lock()
			got[from] = append(got[from], n)
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 500 {
			for _, h := range hs[1:] {
				if err := h.Send(hs[0].ID(), "d/1", []byte(strconv.Itoa(i))); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := hs[0].Send(hs[0].ID(), "d/1", []byte("x")); !errors.Is(err, p2p.ErrConfig) {
			t.Errorf("send to self: %v", err)
		}
		synctest.Wait()
		for _, h := range hs[1:] {
			seq := got[h.ID()]
			if len(seq) != 500 {
				t.Fatalf("%d of 500 messages from %s", len(seq), h.ID())
			}
			for i, n := range seq {
				if n != i {
					t.Fatalf("message %d from %s is %d: out of order", i, h.ID(), n)
				}
			}
		}
		if tr := hs[1].Traffic(); tr.DirectMsgsOut != 500 || tr.DirectWritesOut == 0 || tr.DirectWritesOut > 500 {
			t.Errorf("sender traffic %+v", tr)
		}
		if tr := hs[0].Traffic(); tr.DirectMsgsIn != 1000 {
			t.Errorf("receiver traffic %+v", tr)
		}
	})
}

func TestDirectBackPressureAndQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, hs := hosts(t, 2, p2p.Options{})
		release := make(chan struct{})
		var n int
		_ = hs[0].HandleDirect("d/1", 64, func(p2p.PeerID, []byte) { <-release; n++ })
		var full error
		_ = hs[1].Send(hs[0].ID(), "d/1", []byte("m"))
		synctest.Wait() // the first one is in the handler
		for range p2p.DirectQueue + 1 {
			if err := hs[1].Send(hs[0].ID(), "d/1", []byte("m")); err != nil {
				full = err
			}
		}
		if !errors.Is(full, p2p.ErrQueueFull) {
			t.Errorf("a queue past DirectQueue: %v, want ErrQueueFull", full)
		}
		close(release)
		synctest.Wait()
		if n != p2p.DirectQueue+1 {
			t.Errorf("%d messages delivered, want %d (one in the handler, a full queue)", n, p2p.DirectQueue+1)
		}
	})
}

func TestDirectWaitsForAStartingReceiver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, hs := hosts(t, 2, p2p.Options{})
		got := make(chan string, 4)
		if err := hs[1].Send(hs[0].ID(), "d/1", []byte("early")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		_ = hs[0].HandleDirect("d/1", 64, func(_ p2p.PeerID, m []byte) { got <- string(m) })
		synctest.Wait()
		time.Sleep(200 * time.Millisecond)
		if len(got) != 1 || <-got != "early" {
			t.Fatal("a message sent a second before the receiver handled the protocol was lost")
		}
		// Not handled for longer than the retry window: lost.
		hs[0].UnhandleDirect("d/1")
		_ = hs[1].Send(hs[0].ID(), "d/1", []byte("late"))
		time.Sleep(10 * time.Second)
		_ = hs[0].HandleDirect("d/1", 64, func(_ p2p.PeerID, m []byte) { got <- string(m) })
		synctest.Wait()
		if len(got) != 0 {
			t.Fatalf("a message was kept past the retry window: %q", <-got)
		}
	})
}

func TestRequestResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, hs := hosts(t, 3, p2p.Options{})
		a, b, c := hs[0], hs[1], hs[2]
		var invalid []p2p.InvalidInput
		a.OnInvalidInput(func(in p2p.InvalidInput) { invalid = append(invalid, in) })
		_ = a.Handle("echo/1", 16, func(_ context.Context, from p2p.PeerID, req []byte) ([]byte, error) {
			if string(req) == "fail" {
				return nil, errors.New("no such thing")
			}
			return append([]byte(from.String()[:4]+":"), req...), nil
		}, p2p.Allow(func(p p2p.PeerID) bool { return p != c.ID() }))
		ctx := context.Background()
		resp, err := b.Request(ctx, a.ID(), "echo/1", []byte("hi"), 64)
		if err != nil || string(resp) != b.ID().String()[:4]+":hi" {
			t.Fatalf("request: %q, %v", resp, err)
		}
		if _, err := b.Request(ctx, a.ID(), "echo/1", []byte("fail"), 64); !errors.Is(err, p2p.ErrRemote) {
			t.Errorf("handler failure: %v, want a RemoteError", err)
		}
		if _, err := b.Request(ctx, a.ID(), "echo/1", []byte("hi"), 2); !errors.Is(err, p2p.ErrFrameTooLarge) {
			t.Errorf("response above the cap: %v", err)
		}
		if _, err := b.Request(ctx, a.ID(), "other/1", []byte("hi"), 64); !errors.Is(err, memnet.ErrNotSupported) {
			t.Errorf("unhandled protocol: %v", err)
		}
		if _, err := c.Request(ctx, a.ID(), "echo/1", []byte("hi"), 64); !errors.Is(err, memnet.ErrReset) {
			t.Errorf("refused by Allow: %v", err)
		}
		if len(invalid) != 0 {
			t.Fatalf("invalid input before any: %v", invalid)
		}
		if _, err := b.Request(ctx, a.ID(), "echo/1", make([]byte, 17), 64); !errors.Is(err, memnet.ErrReset) {
			t.Errorf("request above the cap: %v", err)
		}
		if len(invalid) != 1 || invalid[0].Peer != b.ID() || invalid[0].Reason != p2p.ReasonTooLarge {
			t.Errorf("invalid input reported: %v", invalid)
		}
		// A slow handler: the requester's deadline ends the exchange.
		_ = a.Handle("slow/1", 16, func(ctx context.Context, _ p2p.PeerID, _ []byte) ([]byte, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := b.Request(rctx, a.ID(), "slow/1", []byte("x"), 64); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("slow handler: %v", err)
		}
	})
}

func TestTopicValidatesOwnAndGraylists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, hs := hosts(t, 3, p2p.Options{})
		validate := func(_ context.Context, _ p2p.PeerID, data []byte) (any, p2p.ValidationResult, string) {
			switch string(data[:3]) {
			case "bad":
				return nil, p2p.Reject, "bad"
			case "old":
				return nil, p2p.Ignore, "old"
			}
			return string(data), p2p.Accept, ""
		}
		var topics []p2p.Topic
		for _, h := range hs {
			tp, err := h.JoinTopic("t", validate)
			if err != nil {
				t.Fatal(err)
			}
			topics = append(topics, tp)
		}
		if _, err := hs[0].JoinTopic("t", validate); err == nil {
			t.Error("joined a topic twice")
		}
		ctx := context.Background()
		if err := topics[0].Publish(ctx, []byte("bad own")); err == nil {
			t.Error("a publish the own validator rejects succeeded")
		}
		if err := topics[0].Publish(ctx, []byte("old own")); err == nil {
			t.Error("a publish the own validator ignores succeeded")
		}
		if err := topics[0].Publish(ctx, []byte("good 1")); err != nil {
			t.Fatal(err)
		}
		m, err := topics[0].NextMessage(ctx)
		if err != nil || !m.Local || m.Decoded != "good 1" || m.From != hs[0].ID() {
			t.Fatalf("own message: %+v, %v", m, err)
		}
		for _, tp := range topics[1:] {
			m, err := tp.NextMessage(ctx)
			if err != nil || m.Local || m.Decoded != "good 1" || m.From != hs[0].ID() {
				t.Fatalf("remote message: %+v, %v", m, err)
			}
		}
		if got := len(topics[1].Peers()); got != 2 {
			t.Errorf("%d topic peers, want 2", got)
		}
		// A liar: its own validator lets anything out; every receiver rejects it, and after three it is
		// graylisted (a fourth bad message is not even validated).
		liar := hs[2]
		if s, ok := hs[0].PeerScore(liar.ID()); !ok || s != 0 {
			t.Fatalf("an honest peer's score: %v %v", s, ok)
		}
		for i := range 4 {
			publishRaw(t, liar, topics[2], fmt.Sprintf("bad %d", i))
		}
		synctest.Wait()
		if got := topics[0].Rejects().Snapshot()["bad"]; got != 4 { // 1 own + 3 from the liar
			t.Errorf("rejections at host 0: %d, want 4", got)
		}
		if s, _ := hs[0].PeerScore(liar.ID()); s >= p2p.GraylistThreshold {
			t.Errorf("the liar's score %.1f is above the graylist threshold", s)
		}
		publishRaw(t, liar, topics[2], "good 2")
		synctest.Wait()
		if len(drain(topics[0])) != 0 {
			t.Error("a graylisted peer's message was delivered")
		}
		// The penalty decays: after a few minutes the liar is heard again.
		time.Sleep(5 * time.Minute)
		publishRaw(t, liar, topics[2], "good 3")
		synctest.Wait()
		if got := drain(topics[0]); len(got) != 1 {
			t.Errorf("after the penalty decayed: %d messages", len(got))
		}
		if err := topics[0].Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := topics[0].NextMessage(ctx); !errors.Is(err, p2p.ErrTopicClosed) {
			t.Errorf("closed topic: %v", err)
		}
	})
}

// publishRaw publishes msg from liar as a liar does: it leaves its topic tp and rejoins it with an
// accept-all validator for the publish.
func publishRaw(t *testing.T, liar *memnet.Host, tp p2p.Topic, msg string) {
	t.Helper()
	_ = tp.Close()
	lt, err := liar.JoinTopic("t", func(context.Context, p2p.PeerID, []byte) (any, p2p.ValidationResult, string) {
		return nil, p2p.Accept, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.Publish(context.Background(), []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = lt.Close()
}

func drain(tp p2p.Topic) []p2p.Message {
	var out []p2p.Message
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		m, err := tp.NextMessage(ctx)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, m)
	}
}

func TestBlockAndPartition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, hs := hosts(t, 3, p2p.Options{})
		a, b, c := hs[0], hs[1], hs[2]
		got := make(chan string, 16)
		for _, h := range hs {
			_ = h.HandleDirect("d/1", 64, func(from p2p.PeerID, m []byte) { got <- string(m) })
			_ = h.Handle("r/1", 64, func(context.Context, p2p.PeerID, []byte) ([]byte, error) { return []byte("ok"), nil })
		}
		ctx := context.Background()
		a.BlockPeerFor(b.ID(), time.Minute)
		if a.Connected(b.ID()) || b.Connected(a.ID()) || !a.IsBlocked(b.ID()) {
			t.Fatal("a block left the connection up")
		}
		if err := a.Send(b.ID(), "d/1", []byte("x")); !errors.Is(err, p2p.ErrBlocked) {
			t.Errorf("send to a blocked peer: %v", err)
		}
		_ = b.Send(a.ID(), "d/1", []byte("from the blocked"))
		if _, err := b.Request(ctx, a.ID(), "r/1", []byte("x"), 8); err == nil {
			t.Error("a blocked peer's request was served")
		}
		synctest.Wait()
		time.Sleep(10 * time.Second)
		if len(got) != 0 {
			t.Errorf("a blocked peer's message arrived: %q", <-got)
		}
		time.Sleep(time.Minute)
		if a.IsBlocked(b.ID()) {
			t.Error("BlockPeerFor did not expire")
		}
		if _, err := b.Request(ctx, a.ID(), "r/1", []byte("x"), 8); err != nil || !a.Connected(b.ID()) {
			t.Errorf("after the block: %v (connected %v)", err, a.Connected(b.ID()))
		}

		net.Partition([]p2p.PeerID{a.ID()}, []p2p.PeerID{b.ID(), c.ID()})
		if _, err := c.Request(ctx, a.ID(), "r/1", []byte("x"), 8); !errors.Is(err, memnet.ErrUnreachable) {
			t.Errorf("across the partition: %v", err)
		}
		if len(a.Peers()) != 0 || len(c.Peers()) != 1 {
			t.Errorf("peers in the partition: %v / %v", a.Peers(), c.Peers())
		}
		net.Heal()
		if err := a.ConnectPeer(ctx, p2p.AddrInfo{ID: c.ID()}); err != nil {
			t.Errorf("reconnecting a known peer: %v", err)
		}
		if len(a.KnownAddrs(c.ID())) != 1 {
			t.Errorf("known addresses: %v", a.KnownAddrs(c.ID()))
		}
		if _, err := p2p.ParseMultiaddr(a.KnownAddrs(c.ID())[0]); err != nil {
			t.Errorf("a made-up address does not parse: %v", err)
		}
	})
}

func TestSendDelayAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, hs := hosts(t, 2, p2p.Options{SendDelay: 50 * time.Millisecond})
		arrived := make(chan time.Time, 1)
		_ = hs[0].HandleDirect("d/1", 64, func(p2p.PeerID, []byte) { arrived <- time.Now() })
		start := time.Now()
		if err := hs[1].Send(hs[0].ID(), "d/1", []byte("m")); err != nil {
			t.Fatal(err)
		}
		if d := (<-arrived).Sub(start); d != 50*time.Millisecond {
			t.Errorf("delivered after %v, want the 50ms send delay", d)
		}
		tp, _ := hs[1].JoinTopic("t", func(context.Context, p2p.PeerID, []byte) (any, p2p.ValidationResult, string) {
			return nil, p2p.Accept, ""
		})
		_ = tp.Publish(context.Background(), []byte("queued"))
		net.Close() // with a publish still in the delay line and the pipes idle: nothing is left running
		if err := hs[1].Send(hs[0].ID(), "d/1", []byte("m")); !errors.Is(err, p2p.ErrClosed) {
			t.Errorf("send on a closed host: %v", err)
		}
		if _, err := hs[1].JoinTopic("u", func(context.Context, p2p.PeerID, []byte) (any, p2p.ValidationResult, string) {
			return nil, p2p.Accept, ""
		}); !errors.Is(err, p2p.ErrClosed) {
			t.Errorf("join on a closed host: %v", err)
		}
	})
}
