package roster

import (
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

var testRun = wire.RunID{1, 2, 3}

type ident struct {
	key crypto.PrivKey
	id  string
}

func idents(t *testing.T, n int) []ident {
	t.Helper()
	out := make([]ident, n)
	for i := range out {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := peer.IDFromPrivateKey(k)
		out[i] = ident{k, id.String()}
	}
	slices.SortFunc(out, func(a, b ident) int {
		if a.id < b.id {
			return -1
		}
		return 1
	})
	return out
}

func names(ids []ident) []string {
	var out []string
	for _, i := range ids {
		out = append(out, i.id)
	}
	return out
}

// certify signs p's value by the given members (indices into members, whose keys are ids).
func certify(t *testing.T, p wire.Proposal, ids []ident, members []string, signers int) wire.Certificate {
	t.Helper()
	vote := wire.Vote{Run: testRun, Type: wire.Precommit, Height: p.Height, Round: p.Round, Value: p.ValueID()}
	var envs []wire.Envelope
	for _, who := range ids {
		i := slices.Index(members, who.id)
		if i < 0 || len(envs) == signers {
			continue
		}
		e, err := wire.SignMessage(who.key, uint32(i), &vote)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, e)
	}
	c, err := wire.AssembleCertificate(envs, wire.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func proposal(h uint64, ops ...wire.MemberOp) wire.Proposal {
	return wire.Proposal{Run: testRun, Height: h, POLRound: -1, StateDigest: wire.Digest{9}, Ops: ops}
}

// must unwraps an operation a test builds from valid inputs.
func must(o wire.MemberOp, err error) wire.MemberOp {
	if err != nil {
		panic(err)
	}
	return o
}

func TestJoinLeaveRemoveChain(t *testing.T) {
	all := idents(t, 6)
	gen := names(all[:4])
	c := New(testRun, gen, 5)
	newcomer := all[4]

	join := must(SignOp(newcomer.key, testRun, wire.OpJoin, 9))
	p := proposal(10, join)
	if err := c.Append(wire.ChangeProof{Proposal: p, Cert: certify(t, p, all, gen, 3)}, true); err != nil {
		t.Fatal(err)
	}
	if got := c.At(11).Members; !slices.Equal(got, gen) {
		t.Fatalf("the join took effect before its activation: %v", got)
	}
	e := c.At(12)
	if e.Start != 10+ActivationDelay || e.Index(newcomer.id) < 0 || len(e.Members) != 5 {
		t.Fatalf("epoch after the join: %+v", e)
	}
	if next, ok := c.Next(11); !ok || next.Start != 12 {
		t.Fatalf("Next(11) = %+v %v", next, ok)
	}

	// Leave of a genesis member, certified by the five members in force at height 20.
	leave := must(SignOp(all[0].key, testRun, wire.OpLeave, 19))
	p2 := proposal(20, leave)
	if err := c.Append(wire.ChangeProof{Proposal: p2, Cert: certify(t, p2, all, e.Members, 4)}, true); err != nil {
		t.Fatal(err)
	}
	if c.At(22).Index(all[0].id) >= 0 || len(c.At(22).Members) != 4 {
		t.Fatalf("after the leave: %v", c.At(22).Members)
	}

	// A newcomer that knows only the genesis checks the whole history.
	fresh := New(testRun, gen, 5)
	if n, err := fresh.Extend(c.Proofs()); err != nil || n != 2 {
		t.Fatalf("Extend: %d %v", n, err)
	}
	if !slices.Equal(fresh.Latest().Members, c.Latest().Members) {
		t.Fatal("the replayed chain differs")
	}
	// Replaying the old join after a later change of the same peer is refused.
	leaveNew := must(SignOp(newcomer.key, testRun, wire.OpLeave, 30))
	p3 := proposal(31, leaveNew)
	if err := c.Append(wire.ChangeProof{Proposal: p3, Cert: certify(t, p3, all, c.At(31).Members, 3)}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckOps(40, []wire.MemberOp{join}); !errors.Is(err, ErrOp) {
		t.Fatalf("an old join replayed after the peer left: %v", err)
	}
}

func TestCheckOpsRefuses(t *testing.T) {
	all := idents(t, 6)
	gen := names(all[:4])
	outsider := all[5]
	badSig := must(SignOp(outsider.key, testRun, wire.OpJoin, 5))
	badSig.Sig[0] ^= 1
	forgedLeave := must(SignOp(outsider.key, testRun, wire.OpLeave, 5))
	forgedLeave.Peer = []byte(peer.ID(mustDecode(t, gen[1]))) // outsider signs a leave for a member
	otherRun := must(SignOp(outsider.key, wire.RunID{7}, wire.OpJoin, 5))
	join := must(SignOp(outsider.key, testRun, wire.OpJoin, 5))
	join4 := must(SignOp(all[4].key, testRun, wire.OpJoin, 5))
	rm := must(RemoveOp(gen[2], 6))
	tests := []struct {
		name string
		cap  int
		h    uint64
		ops  []wire.MemberOp
		ok   bool
	}{
		{"join", 5, 6, []wire.MemberOp{join}, true},
		{"remove", 4, 6, []wire.MemberOp{rm}, true},
		{"none", 5, 6, nil, false},
		{"bad signature", 5, 6, []wire.MemberOp{badSig}, false},
		{"leave signed by someone else", 5, 6, []wire.MemberOp{forgedLeave}, false},
		{"signed for another run", 5, 6, []wire.MemberOp{otherRun}, false},
		{"from the future", 5, 4, []wire.MemberOp{join}, false},
		{"expired", 5, 5 + OpTTL + 1, []wire.MemberOp{join}, false},
		{"over capacity", 5, 6, []wire.MemberOp{join, join4}, false},
		{"twice the same peer", 6, 6, []wire.MemberOp{join, join}, false},
		{"join of a member", 5, 6, []wire.MemberOp{must(SignOp(all[0].key, testRun, wire.OpJoin, 5))}, false},
		{"remove of a non-member", 5, 6, []wire.MemberOp{must(RemoveOp(outsider.id, 6))}, false},
		{"remove at another height", 5, 7, []wire.MemberOp{rm}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(testRun, gen, tc.cap)
			_, err := c.CheckOps(tc.h, tc.ops)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrOp) {
				t.Fatalf("error does not wrap ErrOp: %v", err)
			}
		})
	}
}

func TestAppendRefusesForgedHistory(t *testing.T) {
	all := idents(t, 8)
	gen := names(all[:4])
	sybils := all[4:]
	join := must(SignOp(sybils[0].key, testRun, wire.OpJoin, 3))
	p := proposal(4, join)
	cases := map[string]wire.Certificate{
		"below quorum":          certify(t, p, all, gen, 2),
		"signed by non-members": certify(t, p, sybils, names(sybils), 4),
	}
	for name, cert := range cases {
		t.Run(name, func(t *testing.T) {
			c := New(testRun, gen, 8)
			if err := c.Append(wire.ChangeProof{Proposal: p, Cert: cert}, true); !errors.Is(err, ErrChain) {
				t.Fatalf("forged change accepted: %v", err)
			}
			if c.Len() != 0 {
				t.Fatal("chain grew")
			}
		})
	}
	// A history that differs from ours in an early change is refused as a whole.
	c := New(testRun, gen, 8)
	if err := c.Append(wire.ChangeProof{Proposal: p, Cert: certify(t, p, all, gen, 3)}, true); err != nil {
		t.Fatal(err)
	}
	other := proposal(4, must(SignOp(sybils[1].key, testRun, wire.OpJoin, 3)))
	if _, err := c.Extend([]wire.ChangeProof{{Proposal: other, Cert: certify(t, other, all, gen, 3)}}); !errors.Is(err, ErrChain) {
		t.Fatalf("a conflicting history was not refused: %v", err)
	}
}

func mustDecode(t *testing.T, s string) peer.ID {
	t.Helper()
	id, err := peer.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
