package node

import (
	"encoding/json"
	"testing"

	"github.com/byzpp/byzpp/p2p/wire"
)

// FuzzAddrsParsers: whatever a peer sends on addrs/1, parsing never panics, keeps only peer IDs that
// decode, and never returns more than the limits.
func FuzzAddrsParsers(f *testing.F) {
	_, ids := testKeys(f, 2)
	req, _ := json.Marshal(ids)
	resp, _ := json.Marshal(map[string][]string{ids[0]: {"/ip4/1.2.3.4/tcp/1", "garbage"}})
	f.Add(req)
	f.Add(resp)
	f.Add([]byte(`["x", 1, null]`))
	f.Add([]byte(`{"a": [1]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := parseAddrsRequest(raw)
		if err == nil && len(got) > maxAddrsAsked {
			t.Fatalf("%d peers accepted", len(got))
		}
		for m, as := range parseAddrsResponse(raw, ids) {
			if len(as) > maxAddrsEach || (m != ids[0] && m != ids[1]) {
				t.Fatalf("kept %d addresses for %q", len(as), m)
			}
		}
	})
}

// FuzzMemberHistory: a membership file's payload, whatever its bytes, decodes to proofs that each
// validate, or to an error; it never panics.
func FuzzMemberHistory(f *testing.F) {
	p := wire.Proposal{Height: 3, POLRound: -1, Ops: []wire.MemberOp{{Kind: wire.OpJoin, Peer: []byte("peer"), Height: 2, Sig: make([]byte, 64)}}}
	cert := wire.Certificate{Height: 3, Value: p.ValueID(), Signers: []uint32{0}, Sigs: [][]byte{make([]byte, wire.SigSize)}}
	valid, err := encodeProofs([]wire.ChangeProof{{Proposal: p, Cert: cert}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte{})
	f.Add([]byte{5, 1, 2, 3, 4, 5})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, raw []byte) {
		proofs, err := decodeProofs(raw)
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
