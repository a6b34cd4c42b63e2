package node

import (
	"context"
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
	nodes := pairOfNodes(t, 4, map[int]string{3: AttackInvalid})
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
			raw, onConsensus := forgerOf(forger).forgedMessage(c.kind)
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
		raw, err := forger.sign(forgerOf(forger).roundBody(0, forger.setup.Model.Dim())) // round 0 is a full round
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
		raw, _ := forgerOf(honest).forgedMessage("garbage")
		if _, res, _ := honest.validateRound(context.Background(), honest.cfg.Host.ID(), raw); res != p2p.Reject {
			t.Errorf("an honest peer let its own garbage through: %v", res)
		}
	})
}

// forgerOf is nd's adversary, or for an honest nd one that forges through nd.
func forgerOf(nd *Node) *byzantine {
	if b, ok := nd.adv.(*byzantine); ok {
		return b
	}
	return &byzantine{env: nodeEnv{nd}}
}

// TestParseAttack covers the comma-separated attack list.
func TestParseAttack(t *testing.T) {
	cases := []struct {
		spec    string
		ok      bool
		check   func(attackMode) bool
		comment string
	}{
		{"", true, func(a attackMode) bool { return a == attackMode{} }, "honest"},
		{"none", true, func(a attackMode) bool { return a == attackMode{} }, "honest"},
		{"equivocate, censor", true, func(a attackMode) bool { return a.equivocate && a.censor && !a.spam }, "two"},
		{"WITHHOLD", true, func(a attackMode) bool { return a.withhold }, "case"},
		{"spam,ipm", true, func(a attackMode) bool { return a.spam && a.learning != nil }, "mixed"},
		{"badagg,alie:z=1.5", true, func(a attackMode) bool { return a.badAgg && a.learning != nil }, "parameterised"},
		{"ipm,alie", false, nil, "two learning attacks"},
		{"z=1", false, nil, "dangling parameter"},
		{"no-such-attack", false, nil, "unknown"},
	}
	for _, c := range cases {
		a, err := parseAttack(c.spec)
		if (err == nil) != c.ok {
			t.Errorf("%s (%q): err %v", c.comment, c.spec, err)
			continue
		}
		if c.ok && !c.check(a) {
			t.Errorf("%s (%q): parsed %+v", c.comment, c.spec, a)
		}
	}
}

// FuzzParseAttack: the attack parser never panics, and what it accepts re-validates.
func FuzzParseAttack(f *testing.F) {
	for _, s := range []string{"", "none", "equivocate,censor", "alie:z=1.5,scale=2", "spam,,", "z=1", ":,=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if _, err := parseAttack(spec); err == nil {
			if _, err := parseAttack(spec); err != nil {
				t.Fatalf("accepted once, refused twice: %v", err)
			}
		}
	})
}

// FuzzValidators: arbitrary gossip payloads never panic a validator, never reach the event loop
// unless accepted, and never blame anyone without a verified signature (there is no key to forge one).
func FuzzValidators(f *testing.F) {
	nodes := pairOfNodes(f, 4, map[int]string{3: AttackInvalid})
	honest, forger := nodes[0], nodes[3]
	for _, kind := range forgedKinds {
		if raw, _ := forgerOf(forger).forgedMessage(kind); raw != nil {
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
