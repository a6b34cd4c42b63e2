// Package status is the schema of a running peer's status: the one Status type that node fills, that
// cmd/peer serves as JSON on /status and as Prometheus gauges on /metrics, and that testnet/up decodes
// when it polls peers.
//
// The JSON field names are a wire format between peers and harnesses of different builds: a field is
// never renamed (status_test.go's golden file fails if one is), a new one is only added. A harness
// reading an older peer sees the fields that peer lacks as zero, and the breakdowns it did not have
// (RejectedBy, Blame, Penalised) as nil, which it must tell from "nothing counted" (an empty one).
package status

import (
	"encoding/json"
	"math"
)

// Status is a snapshot of a running peer.
type Status struct {
	// Member is the peer's member index in the run.
	Member int `json:"member"`
	// Round is the training round being decided (= rounds decided so far, the consensus height).
	Round uint64 `json:"round"`
	// Attempt is the consensus attempt (consensus round) within Round.
	Attempt uint32 `json:"attempt"`
	// Leader is the leader of (Round, Attempt).
	Leader int `json:"leader"`
	// Step is the consensus step ("propose", "prevote", "precommit", ...).
	Step string `json:"step"`
	// Loss is the honest objective at the last recorded point.
	Loss Num `json:"loss"`
	// Gap is Loss − f*; NaN (null) when f* is unknown.
	Gap Num `json:"gap"`
	// TestLoss and TestAccuracy score the model of the last recorded point on the spec's held-out set;
	// NaN (null) without one (sim.Point's numbers).
	TestLoss     Num `json:"test_loss"`
	TestAccuracy Num `json:"test_accuracy"`
	// Digest is the hex SHA-256 digest of the agreed state at Round.
	Digest string `json:"digest"`
	// RoundsPerSec is Decided divided by the time since the peer started.
	RoundsPerSec Num `json:"rounds_per_second"`
	// Decided counts the rounds decided by this peer since it started.
	Decided uint64 `json:"decided"`
	// Evidence counts the equivocation evidence seen.
	Evidence uint64 `json:"evidence"`
	// BadProposals counts proposals that did not re-derive.
	BadProposals uint64 `json:"bad_proposals"`
	// Rejected counts gossip messages rejected by validators.
	Rejected uint64 `json:"rejected"`
	// RejectedBy breaks Rejected down by reason (the validators' error text). Always present in JSON
	// ({} when nothing was rejected); nil only when decoded from a peer that predates it.
	RejectedBy map[string]uint64 `json:"rejected_by"`
	// AttemptsFailed counts consensus attempts abandoned without a decision in the heights this peer
	// decided since it started.
	AttemptsFailed uint64 `json:"attempts_failed"`
	// Ignored counts gossip messages the validators ignored (neither accepted nor penalised).
	Ignored uint64 `json:"ignored"`
	// GossipBytesIn/Out count gossip payload bytes.
	GossipBytesIn  int64 `json:"gossip_bytes_in"`
	GossipBytesOut int64 `json:"gossip_bytes_out"`
	// PayloadBytesIn/Out count protocol message bytes over gossip, direct streams and requests.
	PayloadBytesIn  int64 `json:"payload_bytes_in"`
	PayloadBytesOut int64 `json:"payload_bytes_out"`
	// WireBytesIn/Out count every byte of every libp2p stream (0 on hosts without a bandwidth
	// counter; libp2p's meters update them about once a second).
	WireBytesIn  int64 `json:"wire_bytes_in"`
	WireBytesOut int64 `json:"wire_bytes_out"`
	// DirectMsgsIn/Out count direct messages (p2p.Host.Send).
	DirectMsgsIn  int64 `json:"direct_msgs_in"`
	DirectMsgsOut int64 `json:"direct_msgs_out"`
	// DirectWritesOut counts the stream writes that carried them (messages to one peer queued
	// together leave in one write).
	DirectWritesOut int64 `json:"direct_writes_out"`
	// SigsVerified counts the envelope signatures this peer checked (round messages, proposals,
	// relayed and certified votes).
	SigsVerified int64 `json:"sigs_verified"`
	// RelayBundlesIn counts vote bundles received from relay leaders (node/relay.go).
	RelayBundlesIn uint64 `json:"relay_bundles_in"`
	// RelayBundlesOut counts vote bundles sent as an attempt's leader.
	RelayBundlesOut uint64 `json:"relay_bundles_out"`
	// RelayHandoversOut counts late votes handed to the next leader in one message (node/handover.go).
	RelayHandoversOut uint64 `json:"relay_handovers_out"`
	// RelayRoundBundlesOut counts next-round messages forwarded as leader, one frame per member
	// (node/speculate.go).
	RelayRoundBundlesOut uint64 `json:"relay_round_bundles_out"`
	// RelayVotesOut counts votes forwarded as leader (once per receiver).
	RelayVotesOut uint64 `json:"relay_votes_out"`
	// RelayMACFailures counts relayed votes dropped because their MAC did not hold (the leader or the
	// voter lied).
	RelayMACFailures uint64 `json:"relay_mac_failures"`
	// RelayFallbacks counts own votes re-sent to everyone because the leader moved nothing.
	RelayFallbacks uint64 `json:"relay_fallbacks"`
	// Speculated counts our round messages sent ahead of the decision they depend on
	// (node/speculate.go).
	Speculated uint64 `json:"speculated"`
	// SpeculationMisses counts those computed at a state that was then not decided.
	SpeculationMisses uint64 `json:"speculation_misses"`
	// SpeculationResends counts those sent to every member because no attempt-0 proposal included
	// them in time.
	SpeculationResends uint64 `json:"speculation_resends"`
	// StatesRejected counts state responses from peers that failed verification (forged or short
	// certificate, state not the certified one, wrong height); the peer then asked another member.
	StatesRejected uint64 `json:"states_rejected"`
	// Peers is how many peers the host is connected to (members or not: DHT and relay peers count).
	Peers int `json:"peers"`
	// Blame counts, per member index and kind of offence, the misbehaviour this peer attributed to it
	// (node/blame.go names the kinds). JSON writes the member index as an object key ("3"). Always
	// present in JSON ({} when nobody is blamed); nil only when decoded from a peer that predates it.
	Blame map[int]map[string]uint64 `json:"blame"`
	// Penalised lists, sorted, the peer IDs whose gossip score is below gossipsub's graylist threshold
	// (their messages are being ignored). Filled by the server (cmd/peer), which holds the host: [] when
	// it graylists nobody, nil when it does not say (an older peer, or a Status straight from node).
	Penalised []string `json:"penalised"`
	// Blocked lists, sorted, the peer IDs the host currently blocks (connection gater: banned
	// equivocators, partitions, peers blocked for invalid input). Filled by the server (cmd/peer): []
	// when it blocks nobody, nil when it does not say.
	Blocked []string `json:"blocked"`
	// InvalidInputs counts, by reason, the provably invalid input remote peers sent this host's
	// transport (p2p.Host.InvalidInputs: oversized, malformed or truncated frames, missed deadlines,
	// subscription floods). Filled by the server (cmd/peer); nil when it does not say.
	InvalidInputs map[string]uint64 `json:"invalid_inputs"`
	// Addrs lists the multiaddrs the peer advertises, with its /p2p/ID (behind a NAT, relay addresses
	// appear here). Filled by the server (cmd/peer).
	Addrs []string `json:"addrs,omitempty"`
	// Curve holds the recorded points of the run. /status serves it only when asked (?curve=1), for
	// harnesses that write curves.csv; otherwise it is left out.
	Curve []Point `json:"curve,omitempty"`
}

// Point is one recorded point of the training curve: algo/sim.Point's fields.
type Point struct {
	Round int `json:"round"` // rounds completed
	Epoch Num `json:"epoch"` // average passes an honest member made over its data in partial rounds
	Loss  Num `json:"loss"`  // f(x^k) of the honest objective
	Gap   Num `json:"gap"`   // Loss − f*, NaN (null) when f* is unknown
	// TestLoss and TestAccuracy score the model on the held-out set; NaN (null) without one (and from a
	// peer that predates them).
	TestLoss     Num `json:"test_loss"`
	TestAccuracy Num `json:"test_accuracy"`
}

// MarshalJSON writes s with RejectedBy and Blame as {} when they are nil, so that a reader can tell
// "nothing counted" from a peer that does not count (whose JSON has null or no field).
func (s Status) MarshalJSON() ([]byte, error) {
	if s.RejectedBy == nil {
		s.RejectedBy = map[string]uint64{}
	}
	if s.Blame == nil {
		s.Blame = map[int]map[string]uint64{}
	}
	type plain Status // without this method
	return json.Marshal(plain(s))
}

// PayloadBytes returns the protocol message bytes the peer received and sent (gossip, direct streams
// and requests), or only its gossip bytes when it does not count the others (an older peer).
func (s *Status) PayloadBytes() (in, out int64) {
	if s.PayloadBytesIn > 0 || s.PayloadBytesOut > 0 {
		return s.PayloadBytesIn, s.PayloadBytesOut
	}
	return s.GossipBytesIn, s.GossipBytesOut
}

// Num is a float64 that JSON writes as null when it is NaN or infinite (JSON has no such numbers)
// and reads back from null as NaN.
type Num float64

// MarshalJSON writes null for NaN and ±Inf, and a finite number as encoding/json writes a float64.
func (x Num) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads a number, or null as NaN.
func (x *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*x = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*x = Num(f)
	return nil
}
