package p2p

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
)

func TestFrameFaults(t *testing.T) {
	const max = 100
	cases := []struct {
		name    string
		in      []byte
		request bool
		want    string // "" for no fault; "ok" for a frame
	}{
		{"frame", append(binary.AppendUvarint(nil, 3), "abc"...), false, "ok"},
		{"empty frame", []byte{0}, true, "ok"},
		{"clean end, direct", nil, false, ""},
		{"clean end, request", nil, true, ReasonEmpty},
		{"over cap", binary.AppendUvarint(nil, max+1), false, ReasonTooLarge},
		{"2^63 claim", binary.AppendUvarint(nil, 1<<63), false, ReasonTooLarge},
		{"varint overflow", bytes.Repeat([]byte{0xff}, 10), false, ReasonMalformed},
		{"10th byte above 1", append(bytes.Repeat([]byte{0x80}, 9), 2), false, ReasonMalformed},
		{"header cut", []byte{0x80}, false, ReasonTruncated},
		{"payload cut", append(binary.AppendUvarint(nil, 10), 1, 2), false, ReasonTruncated},
		{"payload missing", binary.AppendUvarint(nil, 10), true, ReasonTruncated},
	}
	for _, c := range cases {
		got, err := readFrame(bufio.NewReader(bytes.NewReader(c.in)), max)
		switch {
		case c.want == "ok":
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			_ = got
		case err == nil:
			t.Errorf("%s: read %q, want fault %q", c.name, got, c.want)
		default:
			if f := frameFault(err, false, c.request); f != c.want {
				t.Errorf("%s: fault %q (%v), want %q", c.name, f, err, c.want)
			}
		}
	}
	// Errors of the stream itself, or of a refused peer, say nothing against the peer, unless the
	// watchdog fired.
	for _, err := range []error{errors.New("stream reset"), errNotAllowed, context.Canceled} {
		if f := frameFault(err, false, true); f != "" {
			t.Errorf("%v: fault %q", err, f)
		}
		if f := frameFault(err, true, false); f != ReasonTimeout {
			t.Errorf("%v after the deadline: fault %q", err, f)
		}
	}
}

// TestReadLengthMatchesUvarint: readLength accepts exactly what binary.ReadUvarint accepts.
func TestReadLengthMatchesUvarint(t *testing.T) {
	for _, n := range []uint64{0, 1, 127, 128, 1 << 20, 1<<63 - 1, 1 << 63, ^uint64(0)} {
		b := binary.AppendUvarint(nil, n)
		got, err := readLength(bufio.NewReader(bytes.NewReader(b)))
		if err != nil || got != n {
			t.Fatalf("%d: got %d, %v", n, got, err)
		}
	}
}

// FuzzReadFrameWith: whatever the bytes, the reader never returns more than the cap, a frame it
// returns is exactly what the header announced (so it re-encodes to the bytes consumed), the header
// hook sees that length before any payload is read, and a failure is either a fault with a name or
// the clean end of the input.
func FuzzReadFrameWith(f *testing.F) {
	f.Add(append(binary.AppendUvarint(nil, 3), "abc"...))
	f.Add(binary.AppendUvarint(nil, 1<<40))
	f.Add(bytes.Repeat([]byte{0xff}, 11))
	f.Add([]byte{0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 1 << 12
		var seen uint64
		hooked := false
		r := bufio.NewReader(bytes.NewReader(in))
		got, err := readFrameWith(r, max, func(n uint64) error {
			hooked, seen = true, n
			if n > max {
				t.Fatalf("hook saw %d above the cap", n)
			}
			return nil
		})
		if err != nil {
			if frameFault(err, false, true) == "" {
				t.Fatalf("unclassified failure: %v", err)
			}
			return
		}
		if !hooked || seen != uint64(len(got)) || len(got) > max {
			t.Fatalf("frame of %d bytes, hook %v saw %d", len(got), hooked, seen)
		}
		n, k := binary.Uvarint(in)
		if k <= 0 || n != seen || !bytes.Equal(got, in[k:k+len(got)]) {
			t.Fatalf("frame is not the %d bytes after its header", n)
		}
	})
}

// FuzzReadResponse: a requester parsing any response never panics, never returns more than its cap,
// and returns either a payload or an error, never both.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte{0, 2, 'o', 'k'})
	f.Add([]byte{1, 3, 'b', 'a', 'd'})
	f.Add([]byte{7, 0})
	f.Add(append([]byte{1}, binary.AppendUvarint(nil, 1<<20)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 256
		got, err := readResponse(bufio.NewReader(bytes.NewReader(in)), max)
		if err != nil {
			if got != nil {
				t.Fatal("payload with an error")
			}
			var re *RemoteError
			if errors.As(err, &re) && len(re.Msg) > maxErrorText {
				t.Fatalf("error text of %d bytes", len(re.Msg))
			}
			return
		}
		if len(got) > max {
			t.Fatalf("response of %d bytes above the cap", len(got))
		}
		if in[0] != statusOK {
			t.Fatalf("status %d accepted", in[0])
		}
	})
}

// FuzzServe runs the request handler of a real (mocknet) host on arbitrary request bytes: the handler
// sees only requests within the cap, a request the handler never sees is either refused by a reset or
// reported as invalid input, and nothing leaks (the bubble fails the test otherwise).
func FuzzServe(f *testing.F) {
	f.Add(append(binary.AppendUvarint(nil, 2), "hi"...), true)
	f.Add(binary.AppendUvarint(nil, 1<<40), true)
	f.Add([]byte{0xff, 0xff}, false)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, in []byte, closeWrite bool) {
		synctest.Test(t, func(t *testing.T) {
			const max = 64
			a, b := mockPair(t, Options{Abuse: AbuseConfig{InvalidThreshold: -1}})
			var calls, reports int
			b.OnInvalidInput(func(InvalidInput) { reports++ })
			if err := b.Handle("f/1", max, func(_ context.Context, _ peer.ID, req []byte) ([]byte, error) {
				calls++
				if len(req) > max {
					t.Errorf("handler got %d bytes", len(req))
				}
				return req, nil
			}); err != nil {
				t.Fatal(err)
			}
			s, err := a.h.NewStream(t.Context(), b.ID(), "/byzpp/f/1")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = s.Write(in)
			if closeWrite {
				_ = s.CloseWrite()
			}
			resp, rerr := io.ReadAll(s)
			synctest.Wait()
			if calls == 0 && rerr == nil && len(resp) > 0 {
				t.Fatalf("a response (%q) without a handler call", resp)
			}
			if calls == 0 && reports == 0 && closeWrite && len(in) > 0 {
				// The whole input arrived and was refused: that must have been reported, unless
				// the frame was fine and only trailing bytes followed it.
				if _, err := readFrame(bufio.NewReader(bytes.NewReader(in)), max); err != nil {
					t.Fatalf("refused %x without a report", in)
				}
			}
			_ = s.Reset()
			a.Shutdown()
			b.Shutdown()
			time.Sleep(100 * time.Millisecond)
			_ = a.Close()
			_ = b.Close()
		})
	})
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
}

// mockPair is two connected mocknet hosts, outside p2ptest (which imports this package).
func mockPair(t *testing.T, opts Options) (*Host, *Host) {
	t.Helper()
	mn := mocknet.New()
	t.Cleanup(func() { _ = mn.Close() })
	var hosts []*Host
	for range 2 {
		lh, err := mn.GenPeer()
		if err != nil {
			t.Fatal(err)
		}
		o := opts
		o.Logger = quietLogger()
		h, err := NewFromHost(t.Context(), lh, o)
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := mn.ConnectPeers(hosts[0].ID(), hosts[1].ID()); err != nil {
		t.Fatal(err)
	}
	return hosts[0], hosts[1]
}

// FuzzSubscriptionFilter feeds arbitrary subscription RPCs from a few peers to the filter: it never
// tracks more than MaxTopicsPerPeer topics for a peer besides the allowlisted ones, never lets through a topic outside the prefix
// or a subscription to a topic beyond the cap, and lets through only entries that were in the RPC.
func FuzzSubscriptionFilter(f *testing.F) {
	f.Add([]byte("/byzpp/a\x00/byzpp/b\x01x\x00"), false)
	f.Add([]byte(strings.Repeat("/byzpp/t\x00", 40)), true)
	f.Fuzz(func(t *testing.T, in []byte, strict bool) {
		synctest.Test(t, func(t *testing.T) {
			a, b := mockPair(t, Options{Abuse: AbuseConfig{InvalidThreshold: -1},
				Gossip: GossipConfig{MaxTopicsPerPeer: 4, MaxSubscriptionsPerRPC: 8}})
			if strict {
				b.AllowTopics("a", "b")
			}
			peers := []peer.ID{a.ID(), "x", "y"}
			// Each byte below 3 ends an entry: 0 subscribe, 1 unsubscribe, 2 next peer and RPC.
			var subs []*pb.RPC_SubOpts
			var cur []byte
			who := 0
			flush := func() {
				out, err := b.subs.FilterIncomingSubscriptions(peers[who], subs)
				if err == nil {
					for _, o := range out {
						topic := o.GetTopicid()
						if !strings.HasPrefix(topic, "/byzpp/") || !b.subs.CanSubscribe(topic) {
							t.Fatalf("let through %q", topic)
						}
						found := false
						for _, s := range subs {
							found = found || s == o
						}
						if !found {
							t.Fatal("let through an entry that was not in the RPC")
						}
					}
				}
				for _, p := range peers {
					if n := b.subs.tracked(p); n > 4+2 {
						t.Fatalf("%d topics tracked for %s", n, p)
					}
				}
				subs = nil
			}
			for _, c := range in {
				if c > 2 {
					cur = append(cur, c)
					continue
				}
				if c == 2 {
					flush()
					who = (who + 1) % len(peers)
					continue
				}
				topic := string(cur)
				subscribe := c == 0
				subs = append(subs, &pb.RPC_SubOpts{Topicid: &topic, Subscribe: &subscribe})
				cur = nil
			}
			flush()
			a.Shutdown()
			b.Shutdown()
			_ = a.Close()
			_ = b.Close()
		})
	})
}

func TestPrefixLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newPrefixLimiter(1, 2, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
		addr := func(s string) ma.Multiaddr { return ma.StringCast(s) }
		steps := []struct {
			addr string
			want bool
		}{
			{"/ip4/1.2.3.4/tcp/1", true},
			{"/ip4/1.2.3.5/udp/1/quic-v1", true}, // same /24: the burst of 2 is used up
			{"/ip4/1.2.3.200/tcp/1", false},
			{"/ip4/1.2.4.1/tcp/1", true}, // another /24
			{"/ip4/127.0.0.1/tcp/1", true},
			{"/ip4/127.0.0.1/tcp/1", true},
			{"/ip4/127.0.0.1/tcp/1", true}, // exempt
			{"/ip6/2001:db8:1:2::1/tcp/1", true},
			{"/ip6/2001:db8:1:ffff::9/tcp/1", true}, // same /48
			{"/ip6/2001:db8:1:3::1/tcp/1", false},
			{"/ip6/::ffff:1.2.3.9/tcp/1", false}, // IPv4-mapped counts as its IPv4 /24
			{"/dns4/example.com/tcp/1", true},    // no IP: not limited here
		}
		for i, s := range steps {
			if got := l.allow(addr(s.addr), time.Now()); got != s.want {
				t.Fatalf("step %d %s: %v, want %v", i, s.addr, got, s.want)
			}
		}
		time.Sleep(time.Second)
		if !l.allow(addr("/ip4/1.2.3.7/tcp/1"), time.Now()) {
			t.Fatal("no token after a second at 1/s")
		}
		if l.allow(addr("/ip4/1.2.3.7/tcp/1"), time.Now()) {
			t.Fatal("a second token after one second at 1/s")
		}
	})
}

func TestGaterTemporaryBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGater()
		p, q := peer.ID("p"), peer.ID("q")
		if !g.BlockFor(p, time.Minute) || !g.IsBlocked(p) {
			t.Fatal("not blocked")
		}
		if g.BlockFor(p, time.Second) {
			t.Fatal("shorter block reported as new")
		}
		g.Add(p) // gossipsub's blacklist must not make it permanent
		time.Sleep(time.Minute)
		if g.IsBlocked(p) || len(g.Blocked()) != 0 {
			t.Fatal("still blocked after its minute")
		}
		g.Block(q)
		if g.BlockFor(q, time.Second) {
			t.Fatal("temporary block replaced a permanent one")
		}
		time.Sleep(time.Hour)
		if !g.IsBlocked(q) {
			t.Fatal("permanent block expired")
		}
		if !g.Unblock(q) || g.IsBlocked(q) {
			t.Fatal("unblock")
		}
	})
}

// TestResourceLimits: the resource manager's limits follow the configured budget, not the machine.
func TestResourceLimits(t *testing.T) {
	c := Config{ConnHigh: 256, ConnLow: 96, ResourceMemory: 1 << 30, ResourceFDs: 2048}
	l := resourceLimits(c).ToPartialLimitConfig()
	if l.System.ConnsInbound != 256 || l.System.ConnsOutbound != 256 || l.System.Conns != 512 {
		t.Fatalf("system connections %+v", l.System)
	}
	if l.PeerDefault.Conns != 8 || l.PeerDefault.ConnsInbound != 4 {
		t.Fatalf("per-peer connections %+v", l.PeerDefault)
	}
	if l.System.Memory != 1<<30 {
		t.Fatalf("system memory %d, budget %d", l.System.Memory, 1<<30)
	}
	small := resourceLimits(Config{ConnHigh: 8, ResourceMemory: 256 << 20, ResourceFDs: 512}).ToPartialLimitConfig()
	if small.System.ConnsInbound != 32 {
		t.Fatalf("tiny ConnHigh not raised to the floor: %+v", small.System)
	}
	if small.System.Memory >= l.System.Memory {
		t.Fatalf("memory does not follow the budget: %d vs %d", small.System.Memory, l.System.Memory)
	}
}

// TestGaterUntrustedAndRangeBlocks: the host's block of an untrusted peer lapses while the peer is
// trusted and holds again if it stops being trusted; gossipsub's blacklist call never turns a lapsing
// or temporary block into a permanent one; BlockFor's block never lapses; a blocked range refuses
// untrusted peers only, until it ends.
func TestGaterUntrustedAndRangeBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGater()
		var trusted sync.Map
		isTrusted := func(p peer.ID) bool { _, ok := trusted.Load(p); return ok }
		g.trusted.Store(&isTrusted)
		p, q := peer.ID("p"), peer.ID("q")

		if !g.blockUntrusted(p, time.Minute) || !g.IsBlocked(p) {
			t.Fatal("not blocked")
		}
		trusted.Store(p, true)
		g.Add(p)
		if g.IsBlocked(p) || len(g.Blocked()) != 0 {
			t.Fatal("block of a now trusted peer did not lapse")
		}
		trusted.Delete(p)
		if !g.IsBlocked(p) {
			t.Fatal("lapsed block did not hold again for an untrusted peer")
		}
		time.Sleep(time.Minute)
		if g.IsBlocked(p) {
			t.Fatal("lapsing block outlived its minute")
		}

		trusted.Store(q, true)
		g.BlockFor(q, time.Minute) // node cutting off a member
		g.blockUntrusted(q, time.Hour)
		if !g.IsBlocked(q) {
			t.Fatal("a member's cut-off lapsed because the host blocked it too")
		}

		addr := func(s string) ma.Multiaddr { return ma.StringCast(s) }
		_, pfx, _ := rangeOf(addr("/ip4/1.2.3.4/tcp/1"))
		if !g.blockRange(pfx, time.Now().Add(time.Minute)) || g.blockRange(pfx, time.Now().Add(time.Second)) {
			t.Fatal("range block not reported as new exactly once")
		}
		if g.admitInbound("x", addr("/ip4/1.2.3.200/tcp/9")) {
			t.Fatal("untrusted peer of a blocked range admitted")
		}
		if !g.admitInbound(q, addr("/ip4/1.2.3.200/tcp/9")) || !g.admitInbound("x", addr("/ip4/1.2.4.1/tcp/9")) {
			t.Fatal("trusted peer or other range refused")
		}
		time.Sleep(time.Minute)
		if !g.admitInbound("x", addr("/ip4/1.2.3.200/tcp/9")) || len(g.BlockedRanges()) != 0 {
			t.Fatal("range block outlived its minute (a shorter later block must not have extended it)")
		}
	})
}

// FuzzReadDirect runs the direct-stream reader of a real (mocknet) host on arbitrary stream bytes: the
// handler gets exactly the well-formed frames within the cap that the input starts with, in order; a
// bad frame after them is reported as invalid input and ends the stream; a peer Allow refuses gets
// nothing delivered and is charged a refusal; and nothing leaks (the bubble fails the test otherwise).
func FuzzReadDirect(f *testing.F) {
	frames := func(msgs ...string) []byte {
		var b []byte
		for _, m := range msgs {
			b = append(binary.AppendUvarint(b, uint64(len(m))), m...)
		}
		return b
	}
	f.Add(frames("hi", "", "there"), true)
	f.Add(append(frames("ok"), binary.AppendUvarint(nil, 1<<40)...), true)
	f.Add(append(frames("ok"), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), true)
	f.Add(append(frames("ok"), 5, 'a'), true)
	f.Add(frames("refused"), false)
	f.Fuzz(func(t *testing.T, in []byte, allowed bool) {
		synctest.Test(t, func(t *testing.T) {
			const max = 64
			a, b := mockPair(t, Options{Abuse: AbuseConfig{InvalidThreshold: -1}})
			var got [][]byte
			var reports int
			b.OnInvalidInput(func(InvalidInput) { reports++ })
			if err := b.HandleDirect("f/1", max, func(_ peer.ID, msg []byte) {
				got = append(got, msg)
			}, Allow(func(peer.ID) bool { return allowed })); err != nil {
				t.Fatal(err)
			}
			s, err := a.h.NewStream(t.Context(), b.ID(), "/byzpp/f/1")
			switch {
			case err == nil:
				_, _ = s.Write(in)
				_ = s.CloseWrite()
				_, _ = io.ReadAll(s)
				defer s.Reset()
			case allowed || !strings.Contains(err.Error(), "reset"):
				t.Fatal(err) // only a refused stream may be reset while it opens
			}
			synctest.Wait()

			if !allowed {
				if len(got) != 0 || b.InvalidInputs().Snapshot()[ReasonRefused] != 1 {
					t.Fatalf("refused peer: %d messages delivered, %v", len(got), b.InvalidInputs().Snapshot())
				}
			} else {
				// The frames a reader of the whole input would take, and whether it ends on a bad one.
				var want [][]byte
				r := bufio.NewReader(bytes.NewReader(in))
				var rerr error
				for {
					msg, err := readFrame(r, max)
					if err != nil {
						rerr = err
						break
					}
					want = append(want, msg)
				}
				if len(got) != len(want) {
					t.Fatalf("%d messages delivered, want %d", len(got), len(want))
				}
				for i := range want {
					if !bytes.Equal(got[i], want[i]) {
						t.Fatalf("message %d: %x, want %x", i, got[i], want[i])
					}
				}
				if cleanEnd := errors.Is(rerr, io.EOF); cleanEnd != (reports == 0) {
					t.Fatalf("input ends with %v, %d reports", rerr, reports)
				}
			}
			a.Shutdown()
			b.Shutdown()
			time.Sleep(100 * time.Millisecond)
			_ = a.Close()
			_ = b.Close()
		})
	})
}
