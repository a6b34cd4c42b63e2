// Package outsider is the testnet's hostile outsider: a small attacker that is not a member of the
// run (its libp2p identities are not in the genesis) and attacks the members over libp2p directly,
// below the p2p package's own API, the way a stranger on the internet would. `testnet up --outsider
// KIND@ROUND+DURATION` runs it as its own process (`testnet outsider`), so its CPU and memory are not
// the harness's.
//
// Kinds (Kinds):
//
//   - subscribe-flood: gossipsub RPCs naming thousands of random topics under the run's prefix and
//     outside it, RPCs over the per-RPC cap, and the run's own topics toggled on and off.
//   - stream-garbage: streams of the run's protocols (direct/1, msgs/1, state/1, member/1) carrying
//     random bytes, well-framed random payloads and malformed length headers.
//   - stream-huge: frames whose length prefix claims far more than any cap (up to 2^62 bytes),
//     followed by some bytes of "payload".
//   - slowloris: many streams held open, idle or trickling one byte a second.
//   - sybil: a stream of fresh identities (SybilRate a second, at most SybilLive alive), each
//     connecting to every target, subscribing to the run's topics and publishing badly signed
//     envelopes and pubsub messages with forged signature fields, then leaving.
//
// Every loop is bounded in time (Config.Duration, and a hard cap on it) and in count (a budget of
// actions derived from the duration), and it only dials the targets it is given (loopback in the
// testnet). The peer IDs it used are appended to Config.Out/ids as they are made, so the harness can
// tell whether the members blocked or graylisted them.
package outsider

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// Kinds lists the attacks.
var Kinds = []string{"subscribe-flood", "stream-garbage", "stream-huge", "slowloris", "sybil"}

// MaxDuration caps Config.Duration.
const MaxDuration = 10 * time.Minute

// Bounds of the attacks.
const (
	// StreamRate is how many streams a second stream-garbage and stream-huge open, over all targets.
	StreamRate = 200
	// SubRate is how many gossip RPCs a second subscribe-flood sends to each target.
	SubRate = 20
	// FloodTopics is how many topics one oversized subscription RPC names.
	FloodTopics = 2000
	// SlowPerTarget is how many streams slowloris keeps open to each target and protocol.
	SlowPerTarget = 16
	// SybilRate is how many fresh identities sybil makes a second; SybilLive bounds those alive at once.
	SybilRate = 5
	SybilLive = 20
	// sybilLife is how long one sybil identity stays.
	sybilLife = 3 * time.Second
	// inflight bounds concurrent stream attacks.
	inflight = 32
)

// gossipProtocols are the gossipsub protocol IDs, newest first.
var gossipProtocols = []protocol.ID{"/meshsub/1.2.0", "/meshsub/1.1.0", "/meshsub/1.0.0"}

// Config of one outsider run.
type Config struct {
	Kind     string
	Targets  []string // members' multiaddrs, each with /p2p/ID
	Topics   []string // the run's gossip topics, full names
	Streams  []string // the run's stream protocols, full IDs
	Prefix   string   // the protocol prefix, under which random topics are made
	Duration time.Duration
	Out      string // directory for ids and stats.json ("" : none)
	Log      io.Writer
}

// Stats is what the outsider did (stats.json).
type Stats struct {
	Kind          string  `json:"kind"`
	Seconds       float64 `json:"seconds"`
	Identities    int64   `json:"identities"`
	Dials         int64   `json:"dials"`
	DialFailures  int64   `json:"dial_failures"` // refused: blocked by the target, or unreachable
	Streams       int64   `json:"streams"`
	StreamRefused int64   `json:"streams_refused"` // failed to open (protocol refused, peer blocked)
	StreamResets  int64   `json:"stream_resets"`   // reset by the target before we ended them
	Subscriptions int64   `json:"subscriptions"`   // subscription entries sent
	Publishes     int64   `json:"publishes"`       // gossip messages sent
	BytesSent     int64   `json:"bytes_sent"`
}

// Validate checks a configuration.
func (c *Config) Validate() error {
	switch {
	case !slices.Contains(Kinds, c.Kind):
		return fmt.Errorf("outsider: unknown kind %q (want one of %s)", c.Kind, strings.Join(Kinds, ", "))
	case len(c.Targets) == 0:
		return errors.New("outsider: no targets")
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("outsider: duration %v not in (0, %v]", c.Duration, MaxDuration)
	case c.Prefix == "" || !strings.HasPrefix(c.Prefix, "/"):
		return fmt.Errorf("outsider: protocol prefix %q", c.Prefix)
	}
	for _, t := range c.Targets {
		if _, err := peer.AddrInfoFromString(t); err != nil {
			return fmt.Errorf("outsider: target %q: %w", t, err)
		}
	}
	return nil
}

// attacker is one run's state.
type attacker struct {
	cfg     Config
	targets []peer.AddrInfo
	st      counters
	idsMu   sync.Mutex
	ids     *os.File
	end     time.Time
}

type counters struct {
	identities, dials, dialFailures, streams, refused, resets, subs, pubs, bytes atomic.Int64
}

// Run attacks until ctx ends or cfg.Duration has passed, and returns what it did.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	a := &attacker{cfg: cfg}
	for _, t := range cfg.Targets {
		ai, _ := peer.AddrInfoFromString(t)
		a.targets = append(a.targets, *ai)
	}
	if cfg.Out != "" {
		if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
			return Stats{}, err
		}
		f, err := os.OpenFile(filepath.Join(cfg.Out, "ids"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return Stats{}, err
		}
		defer f.Close()
		a.ids = f
	}
	start := time.Now()
	a.end = start.Add(cfg.Duration)
	ctx, cancel := context.WithDeadline(ctx, a.end)
	defer cancel()
	var err error
	switch cfg.Kind {
	case "subscribe-flood":
		err = a.subscribeFlood(ctx)
	case "stream-garbage", "stream-huge":
		err = a.streamFlood(ctx, cfg.Kind == "stream-huge")
	case "slowloris":
		err = a.slowloris(ctx)
	case "sybil":
		err = a.sybil(ctx)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = nil
	}
	s := a.stats(time.Since(start))
	if cfg.Out != "" {
		b, _ := json.MarshalIndent(s, "", "  ")
		_ = os.WriteFile(filepath.Join(cfg.Out, "stats.json"), append(b, '\n'), 0o644)
	}
	return s, err
}

func (a *attacker) stats(el time.Duration) Stats {
	c := &a.st
	return Stats{Kind: a.cfg.Kind, Seconds: el.Seconds(), Identities: c.identities.Load(), Dials: c.dials.Load(),
		DialFailures: c.dialFailures.Load(), Streams: c.streams.Load(), StreamRefused: c.refused.Load(),
		StreamResets: c.resets.Load(), Subscriptions: c.subs.Load(), Publishes: c.pubs.Load(), BytesSent: c.bytes.Load()}
}

// newHost makes a fresh identity that listens nowhere and drains whatever gossip the targets send it.
func (a *attacker) newHost() (host.Host, error) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	h, err := libp2p.New(libp2p.Identity(key), libp2p.NoListenAddrs, libp2p.DisableRelay(),
		libp2p.Transport(tcp.NewTCPTransport))
	if err != nil {
		return nil, err
	}
	for _, p := range gossipProtocols {
		h.SetStreamHandler(p, func(s network.Stream) {
			_ = s.SetReadDeadline(a.end.Add(time.Second))
			_, _ = io.Copy(io.Discard, io.LimitReader(s, 64<<20))
			_ = s.Reset()
		})
	}
	a.st.identities.Add(1)
	if a.ids != nil {
		a.idsMu.Lock()
		fmt.Fprintln(a.ids, h.ID())
		a.idsMu.Unlock()
	}
	return h, nil
}

// connect dials t from h (bounded by 3 s).
func (a *attacker) connect(ctx context.Context, h host.Host, t peer.AddrInfo) bool {
	if h.Network().Connectedness(t.ID) == network.Connected {
		return true
	}
	a.st.dials.Add(1)
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := h.Connect(cctx, t); err != nil {
		a.st.dialFailures.Add(1)
		return false
	}
	return true
}

// open opens a stream of proto to t (bounded by 3 s).
func (a *attacker) open(ctx context.Context, h host.Host, t peer.ID, protos ...protocol.ID) (network.Stream, bool) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := h.NewStream(network.WithNoDial(cctx, "connected already"), t, protos...)
	if err != nil {
		a.st.refused.Add(1)
		return nil, false
	}
	a.st.streams.Add(1)
	return s, true
}

func (a *attacker) write(s network.Stream, b []byte) bool {
	_ = s.SetWriteDeadline(time.Now().Add(2 * time.Second))
	n, err := s.Write(b)
	a.st.bytes.Add(int64(n))
	if err != nil {
		a.st.resets.Add(1)
		return false
	}
	return true
}

// tick returns a ticker channel of the given rate a second and its stop function.
func tick(rate int) (<-chan time.Time, func()) {
	t := time.NewTicker(time.Second / time.Duration(max(1, rate)))
	return t.C, t.Stop
}

// budget is the most actions a loop of rate a second may take over the configured duration.
func (a *attacker) budget(rate int) int { return rate*int(a.cfg.Duration/time.Second+1) + 1 }

// subscribeFlood: one identity sending subscription RPCs to every target, SubRate a second each.
func (a *attacker) subscribeFlood(ctx context.Context) error {
	h, err := a.newHost()
	if err != nil {
		return err
	}
	defer h.Close()
	streams := make([]network.Stream, len(a.targets))
	retry := make([]time.Time, len(a.targets))
	defer func() {
		for _, s := range streams {
			if s != nil {
				_ = s.Reset()
			}
		}
	}()
	c, stop := tick(SubRate)
	defer stop()
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for i := range a.budget(SubRate) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c:
		}
		for j, t := range a.targets {
			if streams[j] == nil {
				if time.Now().Before(retry[j]) {
					continue
				}
				retry[j] = time.Now().Add(time.Second)
				if !a.connect(ctx, h, t) {
					continue
				}
				s, ok := a.open(ctx, h, t.ID, gossipProtocols...)
				if !ok {
					continue
				}
				streams[j] = s
			}
			rpc := a.subscriptionRPC(rng, i)
			if !a.write(streams[j], delimit(rpc)) {
				_ = streams[j].Reset()
				streams[j] = nil
			}
		}
	}
	return nil
}

// subscriptionRPC is the i-th RPC of a flood: over the per-RPC cap, many prefixed topics, many
// foreign topics, or the run's own topics toggled.
func (a *attacker) subscriptionRPC(rng *mrand.Rand, i int) []byte {
	var subs []subOpt
	switch i % 4 {
	case 0:
		for range FloodTopics {
			subs = append(subs, subOpt{true, a.cfg.Prefix + "/" + randName(rng)})
		}
	case 1:
		for range 60 {
			subs = append(subs, subOpt{true, a.cfg.Prefix + "/" + randName(rng)})
		}
	case 2:
		for range 60 {
			subs = append(subs, subOpt{true, "/other/" + randName(rng)})
		}
	default:
		for _, t := range a.cfg.Topics {
			subs = append(subs, subOpt{i%8 == 3, t})
		}
	}
	a.st.subs.Add(int64(len(subs)))
	return encodeRPC(subs, nil)
}

func randName(rng *mrand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 24)
	for i := range b {
		b[i] = letters[rng.IntN(len(letters))]
	}
	return string(b)
}

// streamFlood: one identity opening StreamRate streams a second, round-robin over the targets and the
// run's protocols, each carrying garbage (or a huge length prefix).
func (a *attacker) streamFlood(ctx context.Context, huge bool) error {
	h, err := a.newHost()
	if err != nil {
		return err
	}
	defer h.Close()
	protos := a.protocols()
	c, stop := tick(StreamRate)
	defer stop()
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	defer wg.Wait()
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 2))
	retry := map[peer.ID]time.Time{}
	for i := range a.budget(StreamRate) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c:
		}
		t := a.targets[i%len(a.targets)]
		if h.Network().Connectedness(t.ID) != network.Connected {
			if time.Now().Before(retry[t.ID]) {
				continue
			}
			retry[t.ID] = time.Now().Add(500 * time.Millisecond)
			if !a.connect(ctx, h, t) {
				continue
			}
		}
		proto := protos[(i/len(a.targets))%len(protos)]
		var payload []byte
		if huge {
			payload = hugeFrame(rng, i)
		} else {
			payload = garbage(rng, i)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			s, ok := a.open(ctx, h, t.ID, proto)
			if !ok {
				return
			}
			defer s.Reset()
			if !a.write(s, payload) {
				return
			}
			_ = s.CloseWrite()
			// Read what comes back (an error response, or the reset) for at most a second.
			_ = s.SetReadDeadline(time.Now().Add(time.Second))
			_, err := io.Copy(io.Discard, io.LimitReader(s, 4096))
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				a.st.resets.Add(1)
			}
		})
	}
	return nil
}

// garbage is the i-th garbage payload: random bytes, a well-framed random payload, or a malformed
// length header.
func garbage(rng *mrand.Rand, i int) []byte {
	switch i % 3 {
	case 0:
		b := make([]byte, 1+rng.IntN(512))
		fillRand(rng, b)
		return b
	case 1:
		body := make([]byte, 1+rng.IntN(900))
		fillRand(rng, body)
		return append(binary.AppendUvarint(nil, uint64(len(body))), body...)
	default:
		return []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	}
}

// hugeLengths are the length prefixes stream-huge claims.
var hugeLengths = []uint64{1 << 62, 1 << 40, 1 << 32, 1 << 30, 256 << 20, 64 << 20, 16 << 20, 2 << 20}

// hugeFrame is a huge length prefix followed by up to 64 KiB of bytes.
func hugeFrame(rng *mrand.Rand, i int) []byte {
	b := binary.AppendUvarint(nil, hugeLengths[i%len(hugeLengths)])
	body := make([]byte, rng.IntN(64<<10))
	fillRand(rng, body)
	return append(b, body...)
}

func fillRand(rng *mrand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		copy(b[i:], w[:])
	}
}

// protocols are the run's stream protocols (Config.Streams).
func (a *attacker) protocols() []protocol.ID {
	out := make([]protocol.ID, 0, len(a.cfg.Streams))
	for _, s := range a.cfg.Streams {
		out = append(out, protocol.ID(s))
	}
	if len(out) == 0 {
		out = append(out, protocol.ID(a.cfg.Prefix+"/state/1"))
	}
	return out
}

// slowlorisIdentities is how many identities slowloris uses.
const slowlorisIdentities = 4

// slowloris: a few identities each keeping SlowPerTarget streams of every protocol open to every
// target, half idle, half trickling one byte a second of a frame that claims 1000 bytes.
func (a *attacker) slowloris(ctx context.Context) error {
	protos := a.protocols()
	// Each slot reopens at most once a second (a refused stream is retried after a second).
	limit := a.budget(SlowPerTarget * len(protos) * len(a.targets) * slowlorisIdentities)
	var opened atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	for range slowlorisIdentities {
		h, err := a.newHost()
		if err != nil {
			return err
		}
		defer h.Close()
		for _, t := range a.targets {
			for _, proto := range protos {
				for k := range SlowPerTarget {
					wg.Go(func() {
						for ctx.Err() == nil && opened.Add(1) <= int64(limit) {
							if !a.connect(ctx, h, t) {
								sleep(ctx, time.Second)
								continue
							}
							s, ok := a.open(ctx, h, t.ID, proto)
							if !ok {
								sleep(ctx, time.Second)
								continue
							}
							held := time.Now()
							a.hold(ctx, s, k%2 == 0)
							_ = s.Reset()
							if time.Since(held) < time.Second {
								sleep(ctx, time.Second) // refused at once: retry slowly, this is no stream flood
							}
						}
					})
				}
			}
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

// hold keeps s open until ctx ends or the target resets it: idle, or trickling a 1000-byte frame
// one byte a second.
func (a *attacker) hold(ctx context.Context, s network.Stream, idle bool) {
	dead := make(chan struct{})
	go func() { // notices the reset
		_, _ = io.Copy(io.Discard, io.LimitReader(s, 4096))
		close(dead)
	}()
	frame := binary.AppendUvarint(nil, 1000)
	frame = append(frame, make([]byte, 1000)...)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-dead:
			a.st.resets.Add(1)
			return
		case <-time.After(time.Second):
		}
		if !idle && i < len(frame) && !a.write(s, frame[i:i+1]) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// sybil: SybilRate fresh identities a second (at most SybilLive alive), each connecting to every
// target, subscribing to the run's topics, publishing bad gossip and sending one garbage request.
func (a *attacker) sybil(ctx context.Context) error {
	c, stop := tick(SybilRate)
	defer stop()
	live := make(chan struct{}, SybilLive)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range a.budget(SybilRate) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c:
		}
		select {
		case live <- struct{}{}:
		default:
			continue // too many alive: skip this tick
		}
		wg.Go(func() {
			defer func() { <-live }()
			a.oneSybil(ctx, i)
		})
	}
	return nil
}

func (a *attacker) oneSybil(ctx context.Context, i int) {
	h, err := a.newHost()
	if err != nil {
		return
	}
	defer h.Close()
	key, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))
	var wg sync.WaitGroup
	for _, t := range a.targets {
		wg.Go(func() {
			if !a.connect(ctx, h, t) {
				return
			}
			if s, ok := a.open(ctx, h, t.ID, gossipProtocols...); ok {
				defer s.Reset()
				var subs []subOpt
				for _, tp := range a.cfg.Topics {
					subs = append(subs, subOpt{true, tp})
				}
				a.st.subs.Add(int64(len(subs)))
				if !a.write(s, delimit(encodeRPC(subs, nil))) {
					return
				}
				for k := range 4 {
					var msgs []pubMsg
					for _, tp := range a.cfg.Topics {
						msgs = append(msgs, badMessage(rng, key, tp, k))
					}
					a.st.pubs.Add(int64(len(msgs)))
					if !a.write(s, delimit(encodeRPC(nil, msgs))) {
						return
					}
				}
			}
			protos := a.protocols()
			if s, ok := a.open(ctx, h, t.ID, protos[i%len(protos)]); ok {
				_ = a.write(s, garbage(rng, i))
				_ = s.Reset()
			}
			sleep(ctx, sybilLife)
		})
	}
	wg.Wait()
}

// badMessage is a gossip message that looks signed and is not: an envelope signed by this outsider's
// key but naming a member as its signer, over a random body; or a pubsub message with forged
// from/seqno/signature fields, which a StrictNoSign topic refuses.
func badMessage(rng *mrand.Rand, key crypto.PrivKey, topic string, k int) pubMsg {
	body := make([]byte, 32+rng.IntN(200))
	fillRand(rng, body)
	if k%2 == 0 {
		typ := []wire.Type{wire.TypeRound, wire.TypeProposal, wire.TypeVote, wire.TypeAnnounce}[rng.IntN(4)]
		if env, err := wire.Sign(key, typ, uint32(rng.IntN(8)), body); err == nil {
			if b, err := wire.Marshal(&env); err == nil {
				return pubMsg{topic: topic, data: b}
			}
		}
	}
	sig := make([]byte, 64)
	seq := make([]byte, 8)
	fillRand(rng, sig)
	fillRand(rng, seq)
	from := make([]byte, 38)
	fillRand(rng, from)
	return pubMsg{topic: topic, data: body, from: from, seqno: seq, signature: sig}
}
