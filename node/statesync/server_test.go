package statesync

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// certServer is a Server whose members (at every height) are n fresh keys; it returns their private keys.
func certServer(t *testing.T, n int) (*Server, []crypto.PrivKey, []p2p.PubKey) {
	var keys []crypto.PrivKey
	var pubs []p2p.PubKey
	for range n {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys, pubs = append(keys, k), append(pubs, k.GetPublic())
	}
	s := NewServer(ServerConfig{KeysAt: func(uint64) ([]p2p.PubKey, error) { return pubs, nil }})
	return s, keys, pubs
}

// testProposal is the decided proposal of the certificate tests.
var testProposal = wire.Proposal{Height: 3, Round: 1, POLRound: -1, StateDigest: wire.Digest{9}}

// precommits signs the same precommit (for testProposal) by the given members.
func precommits(t *testing.T, keys []crypto.PrivKey, signers ...int) []wire.Envelope {
	v := &wire.Vote{Type: wire.Precommit, Height: 3, Round: 1, Value: testProposal.ValueID()}
	var out []wire.Envelope
	for _, s := range signers {
		env, err := wire.SignMessage(keys[s], uint32(s), v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, env)
	}
	return out
}

func TestCertifyKeepsOnlyGoodSignatures(t *testing.T) {
	s, keys, pubs := certServer(t, 7) // quorum 5
	lim := wire.LimitsFor(8, 7)
	for _, tc := range []struct {
		name    string
		signers []int
		bad     []int // signers whose signature is corrupted
		want    []uint32
		err     error
	}{
		{"all good: a quorum, lowest first", []int{0, 1, 2, 3, 4, 5, 6}, nil, []uint32{0, 1, 2, 3, 4}, nil},
		{"a bad one is skipped", []int{0, 1, 2, 3, 4, 5}, []int{1}, []uint32{0, 2, 3, 4, 5}, nil},
		{"too few good ones", []int{0, 1, 2, 3, 4, 5}, []int{1, 4}, nil, wire.ErrQuorum},
		{"too few at all", []int{0, 1, 2}, nil, nil, wire.ErrQuorum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			envs := precommits(t, keys, tc.signers...)
			for i, e := range envs {
				if slices.Contains(tc.bad, int(e.Signer)) {
					envs[i].Sig = append([]byte{}, e.Sig...)
					envs[i].Sig[0] ^= 1
				}
			}
			cand, err := wire.AssembleCertificate(envs, lim)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Certify(cand)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if !slices.Equal(got.Signers, tc.want) {
				t.Fatalf("signers %v, want %v", got.Signers, tc.want)
			}
			if err := got.Verify(pubs); err != nil {
				t.Fatalf("certified certificate does not verify: %v", err)
			}
		})
	}
}

func TestLatestCertifiesOnce(t *testing.T) {
	s, keys, pubs := certServer(t, 4) // quorum 3
	lim := wire.LimitsFor(8, 4)
	envs := precommits(t, keys, 0, 1, 2, 3)
	envs[3].Sig = append([]byte{}, envs[3].Sig...)
	envs[3].Sig[5] ^= 1
	cand, err := wire.AssembleCertificate(envs, lim)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := s.Latest(); raw != nil || err != nil {
		t.Fatalf("nothing decided yet: %v, %v", raw, err)
	}
	decided := &wire.StateResponse{Height: 3, Round: 4, X: []float64{1}, G: []float64{2}, Proposal: testProposal, Cert: cand}
	s.Decided(decided, nil, false)
	raw, err := s.Latest()
	if err != nil || raw == nil {
		t.Fatalf("served %d bytes, %v", len(raw), err)
	}
	var resp wire.StateResponse
	if err := wire.Unmarshal(raw, &resp, lim); err != nil {
		t.Fatal(err)
	}
	if err := resp.Cert.Verify(pubs); err != nil || len(resp.Cert.Signers) != 3 || resp.Cert.Signers[2] != 2 {
		t.Fatalf("served certificate %v: %v", resp.Cert.Signers, err)
	}
	decided.Cert = wire.Certificate{} // a second call must not certify again
	again, err := s.Latest()
	if err != nil || string(again) != string(raw) {
		t.Fatalf("second call: %v", err)
	}
}

// liar records what Decided tells it and serves a fixed lie.
type liar struct{ cands, certified int }

func (l *liar) ReplacingDecided(cand *wire.StateResponse, certified []byte) {
	if cand != nil {
		l.cands++
	}
	if certified != nil {
		l.certified++
	}
}
func (l *liar) ServeState([]byte) ([]byte, error) { return []byte("lie"), nil }

// TestServerState: state/1 refuses other runs and undecodable requests, answers ErrNoState before a
// decision, the certified state after one, and a Liar's lie when there is one — told each decided
// state a decision replaces, but not a restored one.
func TestServerState(t *testing.T) {
	run := wire.RunID{7}
	lim := wire.LimitsFor(8, 4)
	l := &liar{}
	for _, tc := range []struct {
		name string
		liar Liar
	}{{"honest", nil}, {"liar", l}} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(ServerConfig{Run: run, Liar: tc.liar})
			ask := func(r wire.RunID) ([]byte, error) {
				req, err := wire.Marshal(&wire.StateRequest{Run: r})
				if err != nil {
					t.Fatal(err)
				}
				return s.State(req, lim)
			}
			if _, err := s.State([]byte{0xff}, lim); err == nil {
				t.Fatal("answered an undecodable request")
			}
			if _, err := ask(run); !errors.Is(err, ErrNoState) {
				t.Fatalf("before a decision: %v, want ErrNoState", err)
			}
			s.Restored([]byte("restored"))
			s.Decided(&wire.StateResponse{}, []byte("decided"), true)
			if _, err := ask(wire.RunID{8}); !errors.Is(err, ErrOtherRun) {
				t.Fatalf("another run's request: %v, want ErrOtherRun", err)
			}
			got, err := ask(run)
			want := "decided"
			if tc.liar != nil {
				want = "lie"
			}
			if err != nil || string(got) != want {
				t.Fatalf("served %q, %v; want %q", got, err, want)
			}
		})
	}
	if l.cands != 0 || l.certified != 1 {
		t.Fatalf("liar told %d candidate and %d certified states replaced, want 0 and 1 (the restored one)", l.cands, l.certified)
	}
}

// TestServerMsgs: msgs/1 serves held messages that servable lets through, for this run only; Prune
// keeps the two rounds before the height; HeldBefore picks the smallest digest of earlier rounds.
func TestServerMsgs(t *testing.T) {
	run := wire.RunID{7}
	lim := wire.LimitsFor(8, 4)
	s := NewServer(ServerConfig{Run: run})
	msg := func(round uint64, body string) ([32]byte, []byte) {
		raw := []byte(body)
		d := sha256.Sum256(raw)
		s.Hold(round, d, raw)
		return d, raw
	}
	d1, m1 := msg(1, "one")
	d2, m2 := msg(2, "two")
	d3, _ := msg(3, "unservable")
	ask := func(r wire.RunID, ds ...[32]byte) ([][]byte, error) {
		req := wire.MsgRequest{Run: r}
		for _, d := range ds {
			req.Digests = append(req.Digests, wire.Digest(d))
		}
		raw, err := wire.Marshal(&req)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Msgs(raw, lim, func(raw []byte) bool { return string(raw) != "unservable" })
		if err != nil {
			return nil, err
		}
		var resp wire.MsgResponse
		if err := wire.Unmarshal(out, &resp, lim); err != nil {
			t.Fatal(err)
		}
		return resp.Envelopes, nil
	}
	if got, err := ask(run, d1, d3, d2, [32]byte{}); err != nil || len(got) != 2 || string(got[0]) != "one" || string(got[1]) != "two" {
		t.Fatalf("served %q, %v; want one, two", got, err)
	}
	if _, err := ask(wire.RunID{8}, d1); !errors.Is(err, ErrOtherRun) {
		t.Fatalf("another run's request: %v, want ErrOtherRun", err)
	}
	want := m1
	if slices.Compare(d2[:], d1[:]) < 0 {
		want = m2
	}
	if got := s.HeldBefore(3); string(got) != string(want) {
		t.Fatalf("held before 3: %q, want %q (the smaller digest)", got, want)
	}
	if got := s.HeldBefore(1); got != nil {
		t.Fatalf("held before 1: %q, want nothing", got)
	}
	s.Prune(4) // keeps rounds 2 and 3
	if got, _ := ask(run, d1, d2); len(got) != 1 || string(got[0]) != "two" {
		t.Fatalf("after Prune(4): %q, want two", got)
	}
}
