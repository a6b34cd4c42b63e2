package p2p_test

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/libp2p/go-libp2p/core/crypto"
)

func TestConfigValidate(t *testing.T) {
	ed, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	ec, _, _ := crypto.GenerateECDSAKeyPair(rand.Reader)
	valid := p2p.Config{Key: ed}
	if err := valid.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	const boot = "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSJ8X3ah3QbNiooer6b11W5yt7REN6UZ7N51YPVD8scw6"
	cases := map[string]func(c *p2p.Config){
		"no key":               func(c *p2p.Config) { c.Key = nil },
		"ecdsa key":            func(c *p2p.Config) { c.Key = ec },
		"bad listen":           func(c *p2p.Config) { c.ListenAddrs = []string{"tcp/4001"} },
		"bootstrap no id":      func(c *p2p.Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4001"} },
		"bootstrap garbage":    func(c *p2p.Config) { c.Bootstrap = []string{"hello"} },
		"prefix no slash":      func(c *p2p.Config) { c.ProtocolPrefix = "byzpp" },
		"prefix trailing":      func(c *p2p.Config) { c.ProtocolPrefix = "/byzpp/" },
		"prefix space":         func(c *p2p.Config) { c.ProtocolPrefix = "/byz pp" },
		"watermarks":           func(c *p2p.Config) { c.ConnLow, c.ConnHigh = 10, 5 },
		"tiny gossip":          func(c *p2p.Config) { c.Gossip.MaxMessageSize = 100 },
		"bad cidr":             func(c *p2p.Config) { c.Gossip.ColocationWhitelist = []string{"10.0.0.0"} },
		"negative timeout":     func(c *p2p.Config) { c.Stream.HandlerTimeout = -time.Second },
		"negative concurrency": func(c *p2p.Config) { c.Stream.MaxConcurrentPerPeer = -1 },
	}
	for name, change := range cases {
		c := valid
		change(&c)
		if err := c.Validate(); !errors.Is(err, p2p.ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
	ok := valid
	ok.Bootstrap = []string{boot, "/ip4/127.0.0.2/tcp/4001/p2p/12D3KooWSJ8X3ah3QbNiooer6b11W5yt7REN6UZ7N51YPVD8scw6"}
	ok.ProtocolPrefix = "/byzpp-test/v2"
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid bootstrap list rejected: %v", err)
	}
}

func TestConfigValidateAbuse(t *testing.T) {
	ed, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	valid := p2p.Config{Key: ed}
	cases := map[string]func(c *p2p.Config){
		"negative max inbound": func(c *p2p.Config) { c.Stream.MaxInbound = -1 },
		"negative frame time":  func(c *p2p.Config) { c.Stream.FrameTimeout = -time.Second },
		"negative rate":        func(c *p2p.Config) { c.Stream.MinRate = -1 },
		"negative idle":        func(c *p2p.Config) { c.Stream.IdleTimeout = -time.Second },
		"negative topic cap":   func(c *p2p.Config) { c.Gossip.MaxTopicsPerPeer = -1 },
		"negative rpc cap":     func(c *p2p.Config) { c.Gossip.MaxSubscriptionsPerRPC = -1 },
		"empty topic":          func(c *p2p.Config) { c.Gossip.Topics = []string{""} },
		"negative window":      func(c *p2p.Config) { c.Abuse.InvalidWindow = -time.Second },
		"negative block":       func(c *p2p.Config) { c.Abuse.BlockFor = -time.Second },
		"negative burst":       func(c *p2p.Config) { c.Abuse.NewConnBurst = -1 },
		"bad exempt net":       func(c *p2p.Config) { c.Abuse.ExemptNets = []string{"10.0.0.0"} },
		"tiny resource budget": func(c *p2p.Config) { c.ResourceMemory = 1 << 20 },
		"too few fds":          func(c *p2p.Config) { c.ResourceFDs = 8 },
	}
	for name, change := range cases {
		c := valid
		change(&c)
		if err := c.Validate(); !errors.Is(err, p2p.ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
	ok := valid
	ok.Abuse = p2p.AbuseConfig{InvalidThreshold: -1, NewConnRate: -1, ExemptNets: []string{"10.0.0.0/8", "fd00::/8"}}
	ok.Gossip.Topics = []string{"round/abc", "consensus/abc"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid abuse settings rejected: %v", err)
	}
}
