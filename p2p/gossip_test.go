package p2p_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/p2ptest"
	"github.com/libp2p/go-libp2p/core/peer"
)

// numbered accepts "msg-<n>" and decodes it to n; rejects everything else.
func numbered(_ context.Context, _ peer.ID, data []byte) (any, p2p.ValidationResult, string) {
	s, ok := strings.CutPrefix(string(data), "msg-")
	if !ok {
		return nil, p2p.Reject, "bad-prefix"
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, p2p.Reject, "bad-number"
	}
	if n < 0 {
		return nil, p2p.Ignore, "negative"
	}
	return n, p2p.Accept, ""
}

func acceptAll(_ context.Context, _ peer.ID, data []byte) (any, p2p.ValidationResult, string) {
	return string(data), p2p.Accept, ""
}

func joinAll(t *testing.T, hosts []*p2p.Host, validate p2p.Validator) []p2p.Topic {
	t.Helper()
	topics := make([]p2p.Topic, len(hosts))
	for i, h := range hosts {
		tp, err := h.JoinTopic("test", validate)
		if err != nil {
			t.Fatal(err)
		}
		topics[i] = tp
	}
	return topics
}

func TestGossipDelivery(t *testing.T) {
	for _, n := range []int{5, 20} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				net := p2ptest.NewMockNetwork(t, n)
				topics := joinAll(t, net.Hosts, numbered)
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				if err := p2ptest.WaitForPeers(ctx, topics, n-1); err != nil {
					t.Fatal(err)
				}
				for i, tp := range topics {
					if err := tp.Publish(ctx, []byte(fmt.Sprintf("msg-%d", i))); err != nil {
						t.Fatal(err)
					}
				}
				for i, tp := range topics {
					seen := map[int]bool{}
					for len(seen) < n {
						m, err := tp.NextMessage(ctx)
						if err != nil {
							t.Fatalf("host %d got %d of %d messages: %v", i, len(seen), n, err)
						}
						v := m.Decoded.(int) // the validator's decoded value, not re-decoded
						if seen[v] {
							t.Fatalf("host %d got message %d twice", i, v)
						}
						seen[v] = true
						if m.Local != (v == i) || (m.Local && m.From != net.Hosts[i].ID()) {
							t.Fatalf("host %d: message %d has Local=%v From=%s", i, v, m.Local, m.From)
						}
					}
				}
				for i, h := range net.Hosts {
					tr := h.Traffic()
					if tr.GossipOut != int64(len(fmt.Sprintf("msg-%d", i))) || tr.GossipIn == 0 {
						t.Fatalf("host %d traffic %+v", i, tr)
					}
				}
			})
		})
	}
}

// TestGossipRejectAndGraylist: a peer publishing invalid messages is rejected, counted, scored down
// below the graylist threshold, and then ignored entirely — even its valid messages stop arriving.
// (Automatic blocking is off here: it would cut an untrusted liar off altogether, TestSybilBlocked.)
func TestGossipRejectAndGraylist(t *testing.T) {
	bubble(t, func(t *testing.T) {
		const n = 5
		net := p2ptest.NewMockNetworkWith(t, n, p2ptest.Config{Options: p2p.Options{
			Abuse: p2p.AbuseConfig{InvalidThreshold: -1}}})
		bad := net.Hosts[n-1]
		honest := joinAll(t, net.Hosts[:n-1], numbered)
		badTopic, err := bad.JoinTopic("test", acceptAll) // a liar's own validator lets anything out
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := p2ptest.WaitForPeers(ctx, append(honest, badTopic), n-1); err != nil {
			t.Fatal(err)
		}

		for i := range 6 {
			if err := badTopic.Publish(ctx, []byte(fmt.Sprintf("garbage-%d", i))); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		time.Sleep(3 * time.Second) // let the score inspector sample
		for i, tp := range honest {
			rej := tp.Rejects().Snapshot()
			if rej["bad-prefix"] < 3 {
				t.Fatalf("host %d counted rejections %v, want at least 3", i, rej)
			}
			score, ok := net.Hosts[i].PeerScore(bad.ID())
			if !ok || score >= p2p.GraylistThreshold {
				t.Fatalf("host %d scores the liar %v (known %v), want below %v", i, score, ok, p2p.GraylistThreshold)
			}
		}

		// Graylisted: a valid message from the liar reaches nobody.
		if err := badTopic.Publish(ctx, []byte("msg-99")); err != nil {
			t.Fatal(err)
		}
		// An honest message still reaches every honest host.
		if err := honest[0].Publish(ctx, []byte("msg-1")); err != nil {
			t.Fatal(err)
		}
		for i, tp := range honest {
			m, err := tp.NextMessage(ctx)
			if err != nil {
				t.Fatalf("host %d: %v", i, err)
			}
			if m.Decoded.(int) != 1 {
				t.Fatalf("host %d received %v from the graylisted peer", i, m.Decoded)
			}
			short, stop := context.WithTimeout(ctx, 10*time.Second)
			m, err = tp.NextMessage(short)
			stop()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("host %d received %v, %v after graylisting", i, m.Decoded, err)
			}
		}
	})
}

func TestGossipIgnoreAndOwnReject(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 3)
		topics := joinAll(t, net.Hosts, numbered)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := p2ptest.WaitForPeers(ctx, topics, 2); err != nil {
			t.Fatal(err)
		}
		// Our own validator runs on our publishes: an invalid publish fails locally.
		if err := topics[0].Publish(ctx, []byte("nonsense")); err == nil {
			t.Fatal("invalid publish succeeded")
		}
		if got := topics[0].Rejects().Snapshot()["bad-prefix"]; got != 1 {
			t.Fatalf("own rejection counted %d times", got)
		}
		// Ignored messages are neither delivered nor counted as rejections.
		if err := topics[0].Publish(ctx, []byte("msg--5")); err == nil {
			t.Fatal("ignored publish reported success")
		}
		if topics[0].Ignores().Snapshot()["negative"] != 1 {
			t.Fatalf("ignores %v", topics[0].Ignores().Snapshot())
		}
		if _, err := net.Hosts[0].JoinTopic("test", numbered); err == nil {
			t.Fatal("joined the same topic twice")
		}
		if err := topics[0].Close(); err != nil {
			t.Fatal(err)
		}
		if err := topics[0].Publish(ctx, []byte("msg-1")); !errors.Is(err, p2p.ErrTopicClosed) {
			t.Fatalf("publish on closed topic: %v", err)
		}
		if _, err := net.Hosts[0].JoinTopic("test", numbered); err != nil {
			t.Fatalf("rejoining after close: %v", err)
		}
	})
}

func TestGossipValidatorPanicIsRejected(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 2)
		boom := func(context.Context, peer.ID, []byte) (any, p2p.ValidationResult, string) { panic("boom") }
		a, err := net.Hosts[0].JoinTopic("test", acceptAll)
		if err != nil {
			t.Fatal(err)
		}
		b, err := net.Hosts[1].JoinTopic("test", boom)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := p2ptest.WaitForPeers(ctx, []p2p.Topic{a, b}, 1); err != nil {
			t.Fatal(err)
		}
		if err := a.Publish(ctx, []byte("x")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		time.Sleep(time.Second)
		if b.Rejects().Snapshot()["validator-panic"] != 1 {
			t.Fatalf("rejects %v", b.Rejects().Snapshot())
		}
	})
}

// TestGossipLargestPayload: a payload of exactly MaxPayload crosses the wire; one byte more is refused
// locally with a clear error instead of being dropped silently by receivers.
func TestGossipLargestPayload(t *testing.T) {
	bubble(t, func(t *testing.T) {
		net := p2ptest.NewMockNetwork(t, 2)
		topics := joinAll(t, net.Hosts, acceptAll)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := p2ptest.WaitForPeers(ctx, topics, 1); err != nil {
			t.Fatal(err)
		}
		max := topics[0].MaxPayload()
		if err := topics[0].Publish(ctx, make([]byte, max+1)); !errors.Is(err, p2p.ErrPayloadTooLarge) {
			t.Fatalf("oversized publish: %v", err)
		}
		big := []byte(strings.Repeat("z", max))
		if err := topics[0].Publish(ctx, big); err != nil {
			t.Fatal(err)
		}
		m, err := topics[1].NextMessage(ctx)
		if err != nil || len(m.Data) != max {
			t.Fatalf("largest payload: %d bytes, %v", len(m.Data), err)
		}
	})
}
