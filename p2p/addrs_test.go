package p2p

import (
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// FuzzAddrsParsers: whatever a peer sends on addrs/1, parsing never panics, keeps only peer IDs that
// decode, and never returns more than the limits.
func FuzzAddrsParsers(f *testing.F) {
	var ids []string
	for range 2 {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			f.Fatal(err)
		}
		id, _ := PeerIDFromPrivateKey(k)
		ids = append(ids, id.String())
	}
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
