package node

import (
	"encoding/hex"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
)

// Status is a snapshot of a running peer, for /status, metrics and tests.
type Status struct {
	Member  int     `json:"member"`
	Round   uint64  `json:"round"`   // round being decided (= rounds decided so far)
	Attempt uint32  `json:"attempt"` // consensus attempt within the round
	Leader  int     `json:"leader"`  // leader of (round, attempt)
	Step    string  `json:"step"`
	Loss    float64 `json:"loss"` // honest objective at the last recorded point
	Gap     float64 `json:"gap"`  // loss − f*, NaN when f* is unknown
	// TestLoss and TestAccuracy score the model of the last recorded point on the spec's held-out set
	// (NaN without one): sim.Point's numbers.
	TestLoss     float64 `json:"test_loss"`
	TestAccuracy float64 `json:"test_accuracy"`
	Digest       string  `json:"digest"`
	RoundsPerSec float64 `json:"rounds_per_second"`
	Decided      uint64  `json:"decided"` // rounds decided by this peer since it started
	Evidence     uint64  `json:"evidence"`
	BadProposals uint64  `json:"bad_proposals"`
	Rejected     uint64  `json:"rejected"` // gossip messages rejected by validators
	// RejectedBy breaks Rejected down by reason (the validators' error text).
	RejectedBy map[string]uint64 `json:"rejected_by,omitempty"`
	// AttemptsFailed counts consensus attempts abandoned without a decision in the heights this peer
	// decided since it started.
	AttemptsFailed uint64 `json:"attempts_failed"`
	Ignored        uint64 `json:"ignored"`
	GossipBytesIn  int64  `json:"gossip_bytes_in"`
	GossipBytesOut int64  `json:"gossip_bytes_out"`
	// PayloadBytesIn/Out count protocol message bytes over gossip, direct streams and requests;
	// WireBytesIn/Out count every byte of every libp2p stream (0 on hosts without a bandwidth counter).
	PayloadBytesIn  int64 `json:"payload_bytes_in"`
	PayloadBytesOut int64 `json:"payload_bytes_out"`
	WireBytesIn     int64 `json:"wire_bytes_in"`
	WireBytesOut    int64 `json:"wire_bytes_out"`
	// DirectMsgsIn/Out count direct messages (p2p.Host.Send); SigsVerified counts envelope signatures
	// this peer checked (round messages, proposals, relayed and certified votes).
	DirectMsgsIn  int64 `json:"direct_msgs_in"`
	DirectMsgsOut int64 `json:"direct_msgs_out"`
	// DirectWritesOut counts the stream writes that carried them (messages to one peer queued
	// together leave in one write).
	DirectWritesOut int64 `json:"direct_writes_out"`
	SigsVerified    int64 `json:"sigs_verified"`
	// Vote relay (relay.go): bundles received and sent (as leader), votes forwarded (once per
	// receiver), relayed votes dropped because their MAC did not hold (the leader or the voter lied),
	// and our votes re-sent to everyone because the leader moved nothing.
	RelayBundlesIn  uint64 `json:"relay_bundles_in"`
	RelayBundlesOut uint64 `json:"relay_bundles_out"`
	// RelayHandoversOut counts late votes handed to the next leader in one message (handover.go).
	RelayHandoversOut uint64 `json:"relay_handovers_out"`
	// RelayRoundBundlesOut counts next-round messages forwarded as leader, one frame per member
	// (speculate.go).
	RelayRoundBundlesOut uint64 `json:"relay_round_bundles_out"`
	// Speculated counts our round messages sent ahead of the decision they depend on, SpeculationMisses
	// those computed at a state then not decided (speculate.go).
	Speculated        uint64 `json:"speculated"`
	SpeculationMisses uint64 `json:"speculation_misses"`
	// SpeculationResends counts those sent to every member because no attempt-0 proposal included
	// them in time.
	SpeculationResends uint64 `json:"speculation_resends"`
	RelayVotesOut      uint64 `json:"relay_votes_out"`
	RelayMACFailures   uint64 `json:"relay_mac_failures"`
	RelayFallbacks     uint64 `json:"relay_fallbacks"`
	// StatesRejected counts state responses from peers that failed verification (forged or short
	// certificate, state not the certified one, wrong height); the peer then asked another member.
	StatesRejected uint64 `json:"states_rejected"`
	// Peers is how many peers the host is connected to (members or not: DHT and relay peers count).
	Peers int         `json:"peers"`
	Curve []sim.Point `json:"curve"`
	// Blame counts, per member and kind of offence, the misbehaviour this peer attributed to it
	// (see blame.go for the kinds).
	Blame map[int]map[string]uint64 `json:"blame,omitempty"`
}

// Status returns the latest snapshot (safe from any goroutine).
func (nd *Node) Status() Status {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	s := nd.status
	s.Curve = slices.Clone(s.Curve)
	s.Blame = nd.blameSnapshotLocked()
	s.RejectedBy = maps.Clone(s.RejectedBy)
	s.Peers = len(nd.cfg.Host.Peers())
	s.StatesRejected = nd.statesRejected.Load()
	return s
}

// State returns a copy of the agreed state; call it only when Run is not running.
func (nd *Node) State() *method.State { return nd.eng.State().Clone() }

// publishStatus refreshes the snapshot; called by the loop after every event.
func (nd *Node) publishStatus() {
	cs := nd.cm.Status()
	st := nd.eng.State()
	if nd.loop.digestOf != st {
		// Encoding the digest is most of this function's cost, and it runs after every event.
		d := nd.eng.Digest()
		nd.loop.digestOf, nd.loop.digestHex = st, hex.EncodeToString(d[:])
	}
	var rps float64
	if el := time.Since(nd.loop.started).Seconds(); el > 0 {
		rps = float64(nd.loop.decided) / el
	}
	s := Status{
		Member: nd.self, Round: st.Round, Attempt: cs.Round, Step: cs.Step.String(),
		Leader: method.Leader(nd.gen.Spec.Seed, st.Round, cs.Round, nd.n), Digest: nd.loop.digestHex,
		RoundsPerSec: rps, Decided: nd.loop.decided, Evidence: nd.loop.evidence, BadProposals: nd.loop.badProps,
		AttemptsFailed: nd.loop.attemptsFailed,
	}
	s.TestLoss, s.TestAccuracy = math.NaN(), math.NaN()
	if c := nd.loop.curve; len(c) > 0 {
		last := c[len(c)-1]
		s.Loss, s.Gap, s.TestLoss, s.TestAccuracy = last.Loss, last.Gap, last.TestLoss, last.TestAccuracy
	}
	if nd.roundT != nil {
		s.Rejected = nd.roundT.Rejects().Total() + nd.consT.Rejects().Total()
		s.Ignored = nd.roundT.Ignores().Total() + nd.consT.Ignores().Total()
	}
	tr := nd.cfg.Host.Traffic()
	s.GossipBytesIn, s.GossipBytesOut = tr.GossipIn, tr.GossipOut
	s.PayloadBytesIn = tr.GossipIn + tr.DirectIn + tr.StreamIn
	s.PayloadBytesOut = tr.GossipOut + tr.DirectOut + tr.StreamOut
	s.WireBytesIn, s.WireBytesOut = tr.WireIn, tr.WireOut
	s.DirectMsgsIn, s.DirectMsgsOut, s.DirectWritesOut = tr.DirectMsgsIn, tr.DirectMsgsOut, tr.DirectWritesOut
	s.SigsVerified = nd.verified.Load()
	s.RelayBundlesIn, s.RelayMACFailures = nd.bundlesIn.Load(), nd.macFailures.Load()
	s.RelayBundlesOut, s.RelayVotesOut, s.RelayFallbacks = nd.loop.relay.bundlesOut, nd.loop.relay.votesOut, nd.loop.relay.fallbacks
	s.RelayHandoversOut, s.RelayRoundBundlesOut = nd.loop.relay.handoversOut, nd.loop.relay.roundBundlesOut
	s.Speculated, s.SpeculationMisses = nd.loop.relay.speculated, nd.loop.relay.speculationMisses
	s.SpeculationResends = nd.loop.relay.speculationResends
	nd.mu.Lock()
	s.RejectedBy = nd.status.RejectedBy
	if s.Rejected != nd.status.Rejected && nd.roundT != nil {
		// Copy the per-reason counts only when the total moved: this runs after every event.
		s.RejectedBy = rejectedBy(nd.roundT.Rejects().Snapshot(), nd.consT.Rejects().Snapshot())
	}
	if len(nd.status.Curve) != len(nd.loop.curve) {
		nd.status.Curve = slices.Clone(nd.loop.curve)
	}
	s.Curve = nd.status.Curve
	nd.status = s
	nd.mu.Unlock()
}

// rejectedBy adds up per-reason counts of several topics (nil when there are none).
func rejectedBy(counts ...map[string]uint64) map[string]uint64 {
	var out map[string]uint64
	for _, c := range counts {
		for reason, n := range c {
			if out == nil {
				out = map[string]uint64{}
			}
			out[reason] += n
		}
	}
	return out
}
