package p2p

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Peer-score thresholds. A peer's score is dominated by the invalid-message penalty
// (InvalidMessageDeliveriesWeight × count², see topicScoreParams): three rejected messages put a peer at
// -90, below GraylistThreshold, after which every RPC from it is ignored until the penalty decays.
const (
	GossipThreshold    = -10
	PublishThreshold   = -50
	GraylistThreshold  = -80
	acceptPXThreshold  = 100 // above any reachable score: peer exchange is effectively off
	opportunisticGraft = 2
)

// contentID is the gossip message ID: the SHA-256 of the payload. With StrictNoSign messages carry no
// author or sequence number, and identical bytes are the same message no matter who relays them.
func contentID(m *pb.Message) string {
	sum := sha256.Sum256(m.GetData())
	return string(sum[:])
}

func peerScoreParams(o Options, appScore func(peer.ID) float64) (*pubsub.PeerScoreParams, error) {
	whitelist, err := parseCIDRs(o.Gossip.ColocationWhitelist)
	if err != nil {
		return nil, err
	}
	return &pubsub.PeerScoreParams{
		Topics:        map[string]*pubsub.TopicScoreParams{},
		TopicScoreCap: 20,
		// Recent invalid input of an untrusted peer (abuse.go): graylisted after a few, blocked after
		// more. Misbehaviour the application detects in valid-looking input leads to BlockPeer.
		AppSpecificScore:  appScore,
		AppSpecificWeight: 1,
		// Many peers on one public IP is how a Sybil usually looks; (count-10)² × -1 past 10 peers.
		IPColocationFactorWeight:    -1,
		IPColocationFactorThreshold: 10,
		IPColocationFactorWhitelist: whitelist,
		BehaviourPenaltyWeight:      -1,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyDecay:       0.9,
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 10 * time.Minute,
	}, nil
}

func peerScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             GossipThreshold,
		PublishThreshold:            PublishThreshold,
		GraylistThreshold:           GraylistThreshold,
		AcceptPXThreshold:           acceptPXThreshold,
		OpportunisticGraftThreshold: opportunisticGraft,
	}
}

// topicScoreParams rewards time in the mesh and first deliveries a little and punishes invalid messages
// hard. Mesh-delivery-rate penalties stay off: traffic is bursty by design (a member not sampled in a
// round legitimately sends nothing), so a delivery quota would punish honest peers.
func topicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		TopicWeight:                    1,
		TimeInMeshWeight:               0.01,
		TimeInMeshQuantum:              time.Second, // must be non-zero: zero panics inside gossipsub
		TimeInMeshCap:                  100,
		FirstMessageDeliveriesWeight:   1,
		FirstMessageDeliveriesDecay:    0.9,
		FirstMessageDeliveriesCap:      10,
		InvalidMessageDeliveriesWeight: -10,
		InvalidMessageDeliveriesDecay:  0.99, // halves in about 70 s
	}
}

// scoreBoard keeps the latest peer scores sampled by gossipsub's inspector.
type scoreBoard struct {
	mu     sync.RWMutex
	scores map[peer.ID]float64
}

func (s *scoreBoard) update(m map[peer.ID]float64) {
	s.mu.Lock()
	s.scores = m
	s.mu.Unlock()
}

func (s *scoreBoard) get(p peer.ID) (float64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.scores[p]
	return v, ok
}

func (s *scoreBoard) all() map[peer.ID]float64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[peer.ID]float64, len(s.scores))
	for p, v := range s.scores {
		out[p] = v
	}
	return out
}

// startGossip creates the gossipsub router: StrictNoSign (envelopes carry their own signatures, see
// package wire), content-hash IDs, an explicit message-size cap, peer scoring with graylisting, and the
// host's Gater as blacklist.
func (h *Host) startGossip(ctx context.Context) error {
	params, err := peerScoreParams(h.opts, h.appScore)
	if err != nil {
		return err
	}
	ps, err := pubsub.NewGossipSub(ctx, h.h,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		// StrictNoSign alone still stamps an unsigned author and sequence number on every message;
		// WithNoAuthor omits them and makes peers reject messages that carry them, so no spoofable
		// author field exists at all (an envelope's signer is the only authorship that counts).
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(contentID),
		pubsub.WithMaxMessageSize(h.opts.Gossip.MaxMessageSize),
		pubsub.WithPeerScore(params, peerScoreThresholds()),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(h.scores.update), h.opts.Gossip.ScoreInspectPeriod),
		pubsub.WithBlacklist(h.gater),
		// Only this run's topics, a few per peer (subfilter.go); the tracer tells the filter when a
		// peer's topic state goes.
		pubsub.WithSubscriptionFilter(h.subs),
		pubsub.WithRawTracer(subTracer{h.subs}),
		pubsub.WithPeerExchange(false),
		// A member's own message goes straight to every topic peer in good standing rather than only to
		// its mesh: lower latency, and an eclipsed mesh cannot silence it. (Off by default in v0.19.)
		pubsub.WithFloodPublish(true),
		// Rounds are bursts (every member's message and two votes each arrive together): the default
		// queues of 32 would drop messages under load.
		pubsub.WithValidateQueueSize(256),
		pubsub.WithPeerOutboundQueueSize(1024),
		pubsub.WithLogger(slog.New(demoteHandler{h.log.With("component", "gossipsub").Handler()})),
	)
	if err != nil {
		return fmt.Errorf("p2p: starting gossipsub: %w", err)
	}
	h.ps = ps
	return nil
}

// demoteHandler logs gossipsub's per-message "error bumping delivery tag" warning at debug level: it
// fires on every delivery whenever the connection manager cannot decay tags (any host from
// NewFromHost, e.g. mocknet) and says nothing about the network's health.
type demoteHandler struct{ slog.Handler }

func (d demoteHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && r.Message == "error bumping delivery tag" {
		if !d.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return d.Handler.Handle(ctx, r)
}

func (d demoteHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoteHandler{d.Handler.WithAttrs(attrs)}
}

func (d demoteHandler) WithGroup(name string) slog.Handler {
	return demoteHandler{d.Handler.WithGroup(name)}
}
