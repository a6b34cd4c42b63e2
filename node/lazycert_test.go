package node

import (
	"errors"
	"github.com/byzpp/byzpp/node/roster"
	"log/slog"
	"testing"

	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// certNode is just enough of a Node for certify: n members with their keys.
func certNode(t *testing.T, n int) (*Node, []crypto.PrivKey) {
	keys, ids := testKeys(t, n)
	nd := &Node{log: slog.New(slog.DiscardHandler)}
	nd.n, nd.lim, nd.chain = n, wire.LimitsFor(8, uint32(n)), roster.New(wire.RunID{}, ids, n)
	for _, k := range keys {
		nd.keys = append(nd.keys, k.GetPublic())
	}
	return nd, keys
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
	nd, keys := certNode(t, 7) // quorum 5
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
				for _, b := range tc.bad {
					if int(e.Signer) == b {
						envs[i].Sig = append([]byte{}, e.Sig...)
						envs[i].Sig[0] ^= 1
					}
				}
			}
			cand, err := wire.AssembleCertificate(envs, nd.lim)
			if err != nil {
				t.Fatal(err)
			}
			got, err := nd.certify(cand)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if len(got.Signers) != len(tc.want) {
				t.Fatalf("signers %v, want %v", got.Signers, tc.want)
			}
			for i := range tc.want {
				if got.Signers[i] != tc.want[i] {
					t.Fatalf("signers %v, want %v", got.Signers, tc.want)
				}
			}
			if err := got.Verify(nd.keys); err != nil {
				t.Fatalf("certified certificate does not verify: %v", err)
			}
		})
	}
}

func TestServedStateCertifiesOnce(t *testing.T) {
	nd, keys := certNode(t, 4) // quorum 3
	envs := precommits(t, keys, 0, 1, 2, 3)
	envs[3].Sig = append([]byte{}, envs[3].Sig...)
	envs[3].Sig[5] ^= 1
	cand, err := wire.AssembleCertificate(envs, nd.lim)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := nd.servedState(); raw != nil || err != nil {
		t.Fatalf("nothing decided yet: %v, %v", raw, err)
	}
	nd.latestCand = &wire.StateResponse{Height: 3, Round: 4, X: []float64{1}, G: []float64{2}, Proposal: testProposal, Cert: cand}
	raw, err := nd.servedState()
	if err != nil || raw == nil {
		t.Fatalf("served %d bytes, %v", len(raw), err)
	}
	var resp wire.StateResponse
	if err := wire.Unmarshal(raw, &resp, nd.lim); err != nil {
		t.Fatal(err)
	}
	if err := resp.Cert.Verify(nd.keys); err != nil || len(resp.Cert.Signers) != 3 || resp.Cert.Signers[2] != 2 {
		t.Fatalf("served certificate %v: %v", resp.Cert.Signers, err)
	}
	nd.latestCand.Cert = wire.Certificate{} // a second call must not certify again
	again, err := nd.servedState()
	if err != nil || string(again) != string(raw) {
		t.Fatalf("second call: %v", err)
	}
}
