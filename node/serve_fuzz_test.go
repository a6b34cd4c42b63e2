package node

import (
	"context"
	"crypto/sha256"
	"slices"
	"testing"

	"github.com/byzpp/byzpp/p2p/wire"
)

// The request handlers of msgs/1 and state/1 on arbitrary request bytes (issue 15: every stream
// handler fuzzed as the decoders are). p2p's FuzzServe and FuzzReadDirect cover the framing below
// them; FuzzCheckDirect and FuzzCheckRelayFrame the two decoders behind direct/1's handler.

// FuzzServeMsgs: serveMsgs never panics, and what it answers is a well-formed MsgResponse within the
// requester's cap holding only messages it serves whose signature holds — never a stored message with a
// bad signature, never anything for another run.
func FuzzServeMsgs(f *testing.F) {
	nodes := pairOfNodes(f, 4, nil)
	nd := nodes[0]
	testNodes[nd] = nodes
	good := signed(f, nd, 1, &wire.Vote{Run: nd.run, Type: wire.Prevote}, false)
	bad := signed(f, nd, 2, &wire.Vote{Run: nd.run, Type: wire.Prevote}, true)
	goodD, badD := sha256.Sum256(good), sha256.Sum256(bad)
	nd.serving.Hold(3, goodD, good)
	nd.serving.Hold(3, badD, bad)
	request := func(run wire.RunID, ds ...[32]byte) []byte {
		r := wire.MsgRequest{Run: run}
		for _, d := range ds {
			r.Digests = append(r.Digests, wire.Digest(d))
		}
		raw, err := wire.Marshal(&r)
		if err != nil {
			f.Fatal(err)
		}
		return raw
	}
	// The seed that matters: both asked for, only the correctly signed one served.
	resp, err := nd.serveMsgs(context.Background(), nd.peers[1], request(nd.run, goodD, badD))
	var m wire.MsgResponse
	if err != nil || wire.Unmarshal(resp, &m, nd.lim) != nil || len(m.Envelopes) != 1 || !slices.Equal(m.Envelopes[0], good) {
		f.Fatalf("asked for a good and a badly signed message: %d envelopes, %v", len(m.Envelopes), err)
	}
	f.Add(request(nd.run, goodD, badD))
	f.Add(request(nd.run, badD, goodD, goodD))
	f.Add(request(wire.RunID{1}, goodD))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, req []byte) {
		resp, err := nd.serveMsgs(context.Background(), nd.peers[1], req)
		if err != nil {
			return
		}
		if len(resp) > nd.lim.MaxMessage {
			t.Fatalf("%d-byte response, the requester takes %d", len(resp), nd.lim.MaxMessage)
		}
		var r wire.MsgRequest
		if wire.Unmarshal(req, &r, nd.lim) != nil || r.Run != nd.run {
			t.Fatalf("answered a request that is not one for this run: %x", req)
		}
		var m wire.MsgResponse
		if err := wire.Unmarshal(resp, &m, nd.lim); err != nil {
			t.Fatalf("response does not decode: %v", err)
		}
		for _, env := range m.Envelopes {
			if !slices.Equal(env, good) {
				t.Fatalf("served %x, which is not the one correctly signed message", env)
			}
		}
	})
}

// FuzzServeState: serveState never panics, refuses what is not a StateRequest for this run, and
// answers nothing but a StateResponse.
func FuzzServeState(f *testing.F) {
	nodes := pairOfNodes(f, 4, nil)
	nd := nodes[0]
	for _, r := range []wire.StateRequest{{Run: nd.run}, {Run: nd.run, FromHeight: 1 << 62}, {Run: wire.RunID{9}}} {
		raw, err := wire.Marshal(&r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, req []byte) {
		resp, err := nd.serveState(context.Background(), nd.peers[2], req)
		if err != nil {
			return
		}
		var r wire.StateRequest
		if wire.Unmarshal(req, &r, nd.lim) != nil || r.Run != nd.run {
			t.Fatalf("answered a request that is not one for this run: %x", req)
		}
		var s wire.StateResponse
		if err := wire.Unmarshal(resp, &s, nd.lim); err != nil {
			t.Fatalf("response does not decode: %v", err)
		}
	})
}
