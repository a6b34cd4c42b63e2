package roster

import (
	"testing"

	"github.com/byzpp/byzpp/p2p/wire"
)

// FuzzMemberHistory: a membership file's payload, whatever its bytes, decodes to proofs that each
// validate, or to an error; it never panics.
func FuzzMemberHistory(f *testing.F) {
	p := wire.Proposal{Height: 3, POLRound: -1, Ops: []wire.MemberOp{{Kind: wire.OpJoin, Peer: []byte("peer"), Height: 2, Sig: make([]byte, 64)}}}
	cert := wire.Certificate{Height: 3, Value: p.ValueID(), Signers: []uint32{0}, Sigs: [][]byte{make([]byte, wire.SigSize)}}
	valid, err := EncodeProofs([]wire.ChangeProof{{Proposal: p, Cert: cert}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte{})
	f.Add([]byte{5, 1, 2, 3, 4, 5})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, raw []byte) {
		proofs, err := DecodeProofs(raw)
		if err != nil {
			return
		}
		lim := wire.DefaultLimits()
		for j := range proofs {
			if err := proofs[j].Validate(&lim); err != nil {
				t.Fatalf("proof %d decoded but invalid: %v", j, err)
			}
		}
	})
}
