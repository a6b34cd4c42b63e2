package statesync

import (
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/node/roster"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// TestCheck: a state is refused (ErrBadState) for another run, a round that does not follow its
// height, another dimension, a certificate that does not hold, and a certificate of another value
// or state digest; a state certified by a quorum of the members passes.
func TestCheck(t *testing.T) {
	const n = 4
	var (
		keys []crypto.PrivKey
		ids  []string
	)
	for range n {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := p2p.PeerIDFromPrivateKey(k)
		keys, ids = append(keys, k), append(ids, id.String())
	}
	// The member list is sorted by peer ID: member i holds the i-th key in that order.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if ids[a] < ids[b] {
			return -1
		}
		return 1
	})
	sorted := make([]string, n)
	for i, j := range order {
		sorted[i] = ids[j]
	}
	run := wire.RunID{7}
	chain := roster.New(run, sorted, n)
	lim := wire.LimitsFor(2, n)

	good := func() *wire.StateResponse {
		st := &method.State{Round: 4, X: []float64{1, 2}, G: []float64{3, 4}}
		p := wire.Proposal{Run: run, Height: 3, POLRound: -1, StateDigest: wire.Digest(st.Digest())}
		vote := wire.Vote{Run: run, Type: wire.Precommit, Height: 3, Value: p.ValueID()}
		var envs []wire.Envelope
		for i := range wire.Quorum(n) {
			env, err := wire.SignMessage(keys[order[i]], uint32(i), &vote)
			if err != nil {
				t.Fatal(err)
			}
			envs = append(envs, env)
		}
		cert, err := wire.AssembleCertificate(envs, lim)
		if err != nil {
			t.Fatal(err)
		}
		return &wire.StateResponse{Run: run, Height: 3, Round: 4, X: st.X, G: st.G, Proposal: p, Cert: cert}
	}
	if _, err := Check(chain, run, 2, good()); err != nil {
		t.Fatalf("a certified state is refused: %v", err)
	}
	for name, spoil := range map[string]func(s *wire.StateResponse){
		"other run":     func(s *wire.StateResponse) { s.Run = wire.RunID{8} },
		"round not h+1": func(s *wire.StateResponse) { s.Round = 5 },
		"dimension":     func(s *wire.StateResponse) { s.X = append(s.X, 0) },
		"short cert":    func(s *wire.StateResponse) { s.Cert.Signers, s.Cert.Sigs = s.Cert.Signers[:1], s.Cert.Sigs[:1] },
		"forged sig":    func(s *wire.StateResponse) { s.Cert.Sigs[0] = make([]byte, len(s.Cert.Sigs[0])) },
		"other value":   func(s *wire.StateResponse) { s.Proposal.Included = []wire.Inclusion{{Member: 1}} },
		"other state":   func(s *wire.StateResponse) { s.X[0] = 9 },
		"other height":  func(s *wire.StateResponse) { s.Height, s.Round = 4, 5 },
	} {
		s := good()
		spoil(s)
		if _, err := Check(chain, run, 2, s); !errors.Is(err, ErrBadState) {
			t.Errorf("%s: %v, want ErrBadState", name, err)
		}
	}
}
