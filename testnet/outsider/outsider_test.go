package outsider

import (
	"encoding/binary"
	mrand "math/rand/v2"
	"testing"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"google.golang.org/protobuf/proto"
)

// TestEncodeRPC: the hand-encoded RPCs are what gossipsub decodes.
func TestEncodeRPC(t *testing.T) {
	subs := []subOpt{{true, "/byzpp/round/00ff"}, {false, "/other/x"}}
	msgs := []pubMsg{{topic: "/byzpp/round/00ff", data: []byte{1, 2, 3}},
		{topic: "t", data: []byte("d"), from: []byte("f"), seqno: []byte{9}, signature: []byte("sig")}}
	b := delimit(encodeRPC(subs, msgs))
	n, k := binary.Uvarint(b)
	if k <= 0 || int(n) != len(b)-k {
		t.Fatalf("length prefix %d (%d bytes) for %d bytes", n, k, len(b)-k)
	}
	var rpc pb.RPC
	if err := proto.Unmarshal(b[k:], &rpc); err != nil {
		t.Fatal(err)
	}
	if len(rpc.Subscriptions) != 2 || !rpc.Subscriptions[0].GetSubscribe() || rpc.Subscriptions[0].GetTopicid() != subs[0].topic ||
		rpc.Subscriptions[1].GetSubscribe() || rpc.Subscriptions[1].GetTopicid() != "/other/x" {
		t.Fatalf("subscriptions %v", rpc.Subscriptions)
	}
	if len(rpc.Publish) != 2 || string(rpc.Publish[0].Data) != "\x01\x02\x03" || rpc.Publish[0].From != nil ||
		string(rpc.Publish[1].Signature) != "sig" || rpc.Publish[1].GetTopic() != "t" || string(rpc.Publish[1].Seqno) != "\x09" {
		t.Fatalf("publish %v", rpc.Publish)
	}
}

func TestHugeFrames(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := range hugeLengths {
		n, k := binary.Uvarint(hugeFrame(rng, i))
		if k <= 0 || n != hugeLengths[i] || n < 2<<20 {
			t.Fatalf("frame %d claims %d (%d)", i, n, k)
		}
	}
	for i := range 3 {
		if len(garbage(rng, i)) == 0 {
			t.Fatalf("garbage %d empty", i)
		}
	}
	if _, k := binary.Uvarint(garbage(rng, 2)); k >= 0 {
		t.Fatalf("the malformed header decodes (%d)", k)
	}
}

func TestValidate(t *testing.T) {
	good := Config{Kind: "sybil", Targets: []string{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWGzh4VfJ4QkBvGY3sRYyzm2ES2z6kEBwvDV9QtYDmVQeF"},
		Prefix: "/byzpp", Duration: time.Second}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"kind":     func(c *Config) { c.Kind = "nuke" },
		"targets":  func(c *Config) { c.Targets = nil },
		"no id":    func(c *Config) { c.Targets = []string{"/ip4/127.0.0.1/tcp/4001"} },
		"duration": func(c *Config) { c.Duration = 0 },
		"too long": func(c *Config) { c.Duration = MaxDuration + time.Second },
		"prefix":   func(c *Config) { c.Prefix = "byzpp" },
	} {
		c := good
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
