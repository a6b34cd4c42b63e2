package status

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/status.golden.json")

// sample sets every field to a distinct value, so that the golden file names every JSON field.
func sample() Status {
	return Status{
		Member: 2, Round: 41, Attempt: 1, Leader: 3, Step: "prevote",
		Loss: 0.5, Gap: Num(math.NaN()), TestLoss: 0.625, TestAccuracy: 0.75, Digest: "00ff",
		RoundsPerSec: 12.5, Decided: 40, Evidence: 1, BadProposals: 2, Rejected: 3,
		RejectedBy: map[string]uint64{"bad signature": 3}, AttemptsFailed: 4, Ignored: 5,
		GossipBytesIn: 6, GossipBytesOut: 7, PayloadBytesIn: 8, PayloadBytesOut: 9, WireBytesIn: 10, WireBytesOut: 11,
		DirectMsgsIn: 12, DirectMsgsOut: 13, DirectWritesOut: 14, SigsVerified: 15,
		RelayBundlesIn: 16, RelayBundlesOut: 17, RelayHandoversOut: 18, RelayRoundBundlesOut: 19, RelayVotesOut: 20,
		RelayMACFailures: 21, RelayFallbacks: 22, Speculated: 23, SpeculationMisses: 24, SpeculationResends: 25,
		StatesRejected: 26, Peers: 27,
		Blame:     map[int]map[string]uint64{3: {"invalid": 7}},
		Penalised: []string{"12D3KooWexample"},
		Blocked:   []string{"12D3KooWblocked"}, InvalidInputs: map[string]uint64{"too-large": 28},
		Addrs: []string{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWexample"},
		Curve: []Point{{Round: 0, Epoch: 0, Loss: 0.69, Gap: Num(math.NaN()), TestLoss: Num(math.NaN()), TestAccuracy: Num(math.NaN())},
			{Round: 10, Epoch: 0.25, Loss: 0.5, Gap: 0.125, TestLoss: 0.625, TestAccuracy: 0.75}},
	}
}

// TestGoldenJSON: the JSON of a sample status is testdata/status.golden.json byte for byte, so a
// renamed, dropped or retyped field fails here (old harnesses and peers read these names). A new field
// is added with `go test ./node/status -run Golden -update` after checking the diff adds only it.
func TestGoldenJSON(t *testing.T) {
	got, err := json.MarshalIndent(sample(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "status.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the status JSON changed (a field renamed or removed breaks older harnesses):\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// TestRoundTrip: decoding what a status encodes gives it back (NaN as NaN), and encoding that again
// gives the same bytes.
func TestRoundTrip(t *testing.T) {
	in := sample()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Status
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(out.Gap)) || !math.IsNaN(float64(out.Curve[0].TestAccuracy)) {
		t.Fatalf("NaN did not come back: gap %v, curve %+v", out.Gap, out.Curve[0])
	}
	// NaN ≠ NaN: compare with the NaNs replaced on both sides.
	clear := func(s *Status) {
		s.Gap = 0
		s.Curve[0].Gap, s.Curve[0].TestLoss, s.Curve[0].TestAccuracy = 0, 0, 0
	}
	clear(&in)
	clear(&out)
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
	}
	again, err := json.Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Fatalf("encoding is not stable:\n%s\n%s", b, again)
	}
}

// TestBreakdownsPresence: a status without breakdowns encodes them as {} (nothing counted) and no
// curve; one from an older peer without the fields decodes them as nil (does not say).
func TestBreakdownsPresence(t *testing.T) {
	b, err := json.Marshal(Status{Loss: Num(math.Inf(1))})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if rb, ok := m["rejected_by"].(map[string]any); !ok || len(rb) != 0 {
		t.Errorf("rejected_by = %v, want {}", m["rejected_by"])
	}
	if bl, ok := m["blame"].(map[string]any); !ok || len(bl) != 0 {
		t.Errorf("blame = %v, want {}", m["blame"])
	}
	if v, ok := m["loss"]; !ok || v != nil {
		t.Errorf("loss = %v, want null for +Inf", v)
	}
	if _, ok := m["curve"]; ok {
		t.Error("an empty curve is served")
	}
	var old Status
	if err := json.Unmarshal([]byte(`{"member":1,"round":5,"loss":0.5,"gap":null,"digest":"ab"}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.RejectedBy != nil || old.Blame != nil || old.Penalised != nil || old.Round != 5 || !math.IsNaN(float64(old.Gap)) {
		t.Errorf("old peer's status decoded as %+v", old)
	}
	var fresh Status
	if err := json.Unmarshal(b, &fresh); err != nil {
		t.Fatal(err)
	}
	if fresh.RejectedBy == nil || fresh.Blame == nil {
		t.Error("{} decoded as nil: a harness cannot tell nothing counted from not counting")
	}
}

func TestPayloadBytes(t *testing.T) {
	if in, out := (&Status{GossipBytesIn: 1, GossipBytesOut: 2}).PayloadBytes(); in != 1 || out != 2 {
		t.Errorf("old peer: %d %d", in, out)
	}
	if in, out := (&Status{GossipBytesIn: 1, GossipBytesOut: 2, PayloadBytesIn: 3, PayloadBytesOut: 4}).PayloadBytes(); in != 3 || out != 4 {
		t.Errorf("new peer: %d %d", in, out)
	}
}

// TestMetrics: metric names are unique, and every gauge reads the sample.
func TestMetrics(t *testing.T) {
	s := sample()
	seen := map[string]bool{}
	for _, g := range Gauges() {
		if seen[g.Name] || g.Help == "" {
			t.Errorf("gauge %q duplicated or without help", g.Name)
		}
		seen[g.Name] = true
		_ = g.Value(&s)
	}
	for _, l := range LabelledCounters() {
		if seen[l.Name] || l.Help == "" {
			t.Errorf("counter %q duplicated or without help", l.Name)
		}
		seen[l.Name] = true
		n := 0
		l.Each(&s, func(v float64, labels ...string) {
			n++
			if len(labels) != len(l.Labels) || v <= 0 {
				t.Errorf("%s: %v %v", l.Name, v, labels)
			}
		})
		if n != 1 {
			t.Errorf("%s: %d series, want 1", l.Name, n)
		}
	}
	if g := Gauges(); g[0].Value(&s) != 41 {
		t.Errorf("round gauge = %v", g[0].Value(&s))
	}
}

// servedKeys are the JSON fields peers served and harnesses read before this package existed
// (cmd/peer's hand-built map and testnet/up's mirror struct): they must never go.
var servedKeys = []string{"member", "round", "attempt", "leader", "step", "loss", "gap", "test_loss", "test_accuracy",
	"digest", "rounds_per_second", "decided", "evidence", "bad_proposals", "rejected", "ignored",
	"gossip_bytes_in", "gossip_bytes_out", "payload_bytes_in", "payload_bytes_out", "wire_bytes_in", "wire_bytes_out",
	"direct_msgs_in", "direct_msgs_out", "direct_writes_out", "sigs_verified", "peers",
	"relay_bundles_in", "relay_bundles_out", "relay_handovers_out", "relay_votes_out", "relay_mac_failures",
	"relay_fallbacks", "rejected_by", "attempts_failed", "blame", "penalised", "addrs", "curve"}

var curveKeys = []string{"round", "epoch", "loss", "gap", "test_loss", "test_accuracy"}

// TestServedKeys: every field served before stays, under its name; and the sample sets every field, so
// that the golden file covers a new one.
func TestServedKeys(t *testing.T) {
	b, err := json.Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range servedKeys {
		if _, ok := m[k]; !ok {
			t.Errorf("status JSON lost field %q", k)
		}
	}
	var pts []map[string]json.RawMessage
	if err := json.Unmarshal(m["curve"], &pts); err != nil {
		t.Fatal(err)
	}
	for _, k := range curveKeys {
		if _, ok := pts[0][k]; !ok {
			t.Errorf("curve points lost field %q", k)
		}
	}
	v := reflect.ValueOf(sample())
	for i := range v.NumField() {
		if f := v.Field(i); f.IsZero() {
			t.Errorf("sample() leaves %s zero: set it so that the golden file has it", v.Type().Field(i).Name)
		}
	}
}
