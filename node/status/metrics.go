package status

import "strconv"

// Namespace prefixes every metric name: byzpp_round, byzpp_blame, ...
const Namespace = "byzpp"

// Gauge is one Prometheus gauge of /metrics, read from a fresh Status at every scrape.
type Gauge struct {
	Name, Help string
	Value      func(*Status) float64
}

// Gauges lists the unlabelled gauges /metrics exports (names without Namespace). Their names are part
// of the metrics' interface (dashboards and alerts use them), so they keep their historical spelling
// even where it differs from the JSON field (rounds_decided is "decided", equivocations "evidence",
// gossip_rejected "rejected").
func Gauges() []Gauge {
	u := func(f func(*Status) uint64) func(*Status) float64 {
		return func(s *Status) float64 { return float64(f(s)) }
	}
	i := func(f func(*Status) int64) func(*Status) float64 {
		return func(s *Status) float64 { return float64(f(s)) }
	}
	return []Gauge{
		{"round", "Training round being decided.", u(func(s *Status) uint64 { return s.Round })},
		{"attempt", "Consensus attempt within the round.", func(s *Status) float64 { return float64(s.Attempt) }},
		{"loss", "Honest objective at the last recorded round.", func(s *Status) float64 { return float64(s.Loss) }},
		{"gap", "Loss minus f*.", func(s *Status) float64 { return float64(s.Gap) }},
		{"test_loss", "Objective on the held-out set at the last recorded round (NaN without one).", func(s *Status) float64 { return float64(s.TestLoss) }},
		{"test_accuracy", "Accuracy on the held-out set at the last recorded round (NaN without one).", func(s *Status) float64 { return float64(s.TestAccuracy) }},
		{"rounds_per_second", "Decided rounds per second since start.", func(s *Status) float64 { return float64(s.RoundsPerSec) }},
		{"rounds_decided", "Rounds decided since start.", u(func(s *Status) uint64 { return s.Decided })},
		{"equivocations", "Equivocation evidence seen.", u(func(s *Status) uint64 { return s.Evidence })},
		{"bad_proposals", "Proposals that did not re-derive.", u(func(s *Status) uint64 { return s.BadProposals })},
		{"gossip_rejected", "Gossip messages rejected by validators.", u(func(s *Status) uint64 { return s.Rejected })},
		{"gossip_bytes_in", "Gossip payload bytes received.", i(func(s *Status) int64 { return s.GossipBytesIn })},
		{"gossip_bytes_out", "Gossip payload bytes sent.", i(func(s *Status) int64 { return s.GossipBytesOut })},
		{"payload_bytes_in", "Protocol message bytes received (gossip, direct, requests).", i(func(s *Status) int64 { return s.PayloadBytesIn })},
		{"payload_bytes_out", "Protocol message bytes sent (gossip, direct, requests).", i(func(s *Status) int64 { return s.PayloadBytesOut })},
		{"wire_bytes_in", "Bytes received on all libp2p streams.", i(func(s *Status) int64 { return s.WireBytesIn })},
		{"wire_bytes_out", "Bytes sent on all libp2p streams.", i(func(s *Status) int64 { return s.WireBytesOut })},
		{"peers", "Connected peers.", func(s *Status) float64 { return float64(s.Peers) }},
		{"attempts_failed", "Consensus attempts abandoned without a decision.", u(func(s *Status) uint64 { return s.AttemptsFailed })},
		{"relay_bundles_out", "Vote bundles sent as an attempt's leader.", u(func(s *Status) uint64 { return s.RelayBundlesOut })},
		{"relay_handovers_out", "Late votes handed to the next leader, as a past leader (one message each time).", u(func(s *Status) uint64 { return s.RelayHandoversOut })},
		{"relay_bundles_in", "Vote bundles received from leaders.", u(func(s *Status) uint64 { return s.RelayBundlesIn })},
		{"relay_mac_failures", "Relayed votes dropped because their MAC did not hold.", u(func(s *Status) uint64 { return s.RelayMACFailures })},
		{"relay_fallbacks", "Own votes re-sent to everyone because the leader moved nothing.", u(func(s *Status) uint64 { return s.RelayFallbacks })},
		{"states_rejected", "State responses from peers that failed verification.", u(func(s *Status) uint64 { return s.StatesRejected })},
	}
}

// Labelled is a family of counters whose label values are only known at scrape time (built from a fresh
// Status on every scrape rather than kept in counter vectors).
type Labelled struct {
	Name, Help string
	Labels     []string
	// Each calls emit once per label set with its count.
	Each func(s *Status, emit func(v float64, labelValues ...string))
}

// LabelledCounters lists the labelled counters /metrics exports.
func LabelledCounters() []Labelled {
	return []Labelled{
		{Name: "blame", Help: "Offences this peer attributed to a member, by kind (see node/blame.go).", Labels: []string{"member", "kind"},
			Each: func(s *Status, emit func(float64, ...string)) {
				for member, kinds := range s.Blame {
					for kind, n := range kinds {
						emit(float64(n), strconv.Itoa(member), kind)
					}
				}
			}},
		{Name: "gossip_rejected_by_reason", Help: "Gossip messages rejected by validators, by reason.", Labels: []string{"reason"},
			Each: func(s *Status, emit func(float64, ...string)) {
				for reason, n := range s.RejectedBy {
					emit(float64(n), reason)
				}
			}},
	}
}
