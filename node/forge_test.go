package node

import (
	"context"
	"github.com/byzpp/byzpp/node/byzantine"
	"log/slog"
	"testing"

	"github.com/byzpp/byzpp/p2p"
)

// pairOfNodes builds n nodes on an in-memory network without running them: enough to call validators
// directly.
func pairOfNodes(t testing.TB, n int, attacks map[int]string) []*Node {
	t.Helper()
	spec := adversarialSpec(n, 10)
	keys, g := testGenesis(t, "forge", spec)
	logger := slog.New(slog.DiscardHandler)
	hosts, closeHosts := memHosts(t, keys, p2p.Options{Logger: logger})
	t.Cleanup(closeHosts)
	var nodes []*Node
	for i, k := range keys {
		nd, err := New(Config{Genesis: g, Key: k, Host: hosts[i], Attack: attacks[i], Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
	}
	return nodes
}

// TestForgedMessagesRefused feeds every kind of forged message straight to an honest validator and
// checks the verdict, its reason, and who gets named. In a live network the forger is graylisted after
// a few of these, so the network test cannot see every kind; this one does.
func TestForgedMessagesRefused(t *testing.T) {
	nodes := pairOfNodes(t, 4, map[int]string{3: byzantine.AttackInvalid})
	honest, forger := nodes[0], nodes[3]
	from := forger.cfg.Host.ID()
	cases := []struct {
		kind   string
		want   p2p.ValidationResult
		reason string
		named  string // blame kind against the forger, "" for anonymous garbage
	}{
		{"garbage", p2p.Reject, "malformed", ""},
		{"oversized", p2p.Reject, "malformed", ""},
		{"non-finite", p2p.Reject, "non-finite", ""},
		{"wrong-dimension", p2p.Reject, "dimension", blameInvalid},
		{"unsampled", p2p.Reject, "not-sampled", blameInvalid},
		{"non-leader", p2p.Reject, "not-leader", blameInvalid},
		{"far-future", p2p.Ignore, "future", blameFuture},
		{"bad-signature", p2p.Reject, "signature", ""},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			raw, onConsensus := byzantine.ForgedMessage(nodeEnv{forger}, c.kind)
			if raw == nil {
				t.Fatal("no message forged")
			}
			before := honest.Status().Blame[3][c.named]
			validate := honest.validateRound
			if onConsensus {
				validate = honest.validateConsensus
			}
			decoded, res, reason := validate(context.Background(), from, raw)
			if res != c.want || reason != c.reason || decoded != nil {
				t.Errorf("verdict %v %q (decoded %v), want %v %q", res, reason, decoded != nil, c.want, c.reason)
			}
			if c.named != "" && honest.Status().Blame[3][c.named] != before+1 {
				t.Errorf("forger not named for %s: %v", c.named, honest.Status().Blame[3])
			}
			// The forger's own validator lets its forgery out (gossipsub validates local publishes).
			if _, res, _ := forger.validateRound(context.Background(), from, raw); res != p2p.Accept {
				t.Errorf("the forger's own validator refused its forgery: %v", res)
			}
		})
	}
	t.Run("replay", func(t *testing.T) {
		raw, err := forger.sign(byzantine.RoundBody(nodeEnv{forger}, 0, forger.setup.Model.Dim())) // round 0 is a full round
		if err != nil {
			t.Fatal(err)
		}
		honest.current.Store(3)
		defer honest.current.Store(0)
		if _, res, reason := honest.validateRound(context.Background(), from, raw); res != p2p.Ignore || reason != "stale" {
			t.Errorf("replayed old envelope: %v %q, want ignore stale", res, reason)
		}
	})
	t.Run("honest-peer-validates-normally", func(t *testing.T) {
		raw, _ := byzantine.ForgedMessage(nodeEnv{honest}, "garbage")
		if _, res, _ := honest.validateRound(context.Background(), honest.cfg.Host.ID(), raw); res != p2p.Reject {
			t.Errorf("an honest peer let its own garbage through: %v", res)
		}
	})
}

// FuzzValidators: arbitrary gossip payloads never panic a validator, never reach the event loop
// unless accepted, and never blame anyone without a verified signature (there is no key to forge one).
func FuzzValidators(f *testing.F) {
	nodes := pairOfNodes(f, 4, map[int]string{3: byzantine.AttackInvalid})
	honest, forger := nodes[0], nodes[3]
	for _, kind := range byzantine.ForgedKinds() {
		if raw, _ := byzantine.ForgedMessage(nodeEnv{forger}, kind); raw != nil {
			f.Add(raw)
		}
	}
	f.Add([]byte{})
	from := forger.cfg.Host.ID()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, validate := range []p2p.Validator{honest.validateRound, honest.validateConsensus} {
			decoded, res, _ := validate(context.Background(), from, data)
			if (res == p2p.Accept) != (decoded != nil) {
				t.Fatalf("verdict %v with decoded %v", res, decoded)
			}
		}
	})
}
