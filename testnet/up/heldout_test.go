package up

import (
	"context"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/status"
	"github.com/byzpp/byzpp/testnet/curves"
)

// TestScoreFromReplay: the held-out figures come from the simulator's replay only when it ends on the
// honest peers' state digest; then the network's curve gets the replay's test columns too.
func TestScoreFromReplay(t *testing.T) {
	spec := smallSpec(4, 1, "shb", 20)
	replay, final, err := simReplay(context.Background(), "run", spec, true)
	if err != nil {
		t.Fatal(err)
	}
	d := final.Digest()
	network := make([]curves.Row, len(replay))
	copy(network, replay)
	for i := range network {
		network[i].TestLoss, network[i].TestAccuracy = math.NaN(), math.NaN()
	}
	last := replay[len(replay)-1]
	tests := []struct {
		name   string
		digest string
		scored bool
	}{
		{"same state", hex.EncodeToString(d[:]), true},
		{"another state", strings.Repeat("0", 64), false},
		{"no honest peer at the round", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := &Report{TestAccuracy: Num(math.NaN()), TestLoss: Num(math.NaN()), TestData: "a9a.t"}
			round := uint64(spec.Rounds)
			if tc.digest == "" {
				round--
			}
			rep.Peers = []PeerReport{{Honest: true, FinalRound: round, FinalDigest: tc.digest}, {Honest: false, FinalRound: uint64(spec.Rounds), FinalDigest: hex.EncodeToString(d[:])}}
			got := scoreFromReplay(rep, network, replay, final)
			if !tc.scored {
				if !math.IsNaN(float64(rep.TestAccuracy)) || !math.IsNaN(got[len(got)-1].TestAccuracy) || !strings.HasPrefix(rep.TestSource, "n/a") {
					t.Fatalf("scored from another state: %+v", rep)
				}
				return
			}
			if float64(rep.TestAccuracy) != last.TestAccuracy || float64(rep.TestLoss) != last.TestLoss || math.IsNaN(last.TestAccuracy) {
				t.Fatalf("test accuracy %v loss %v, want the replay's %v %v", rep.TestAccuracy, rep.TestLoss, last.TestAccuracy, last.TestLoss)
			}
			if got[len(got)-1].TestAccuracy != last.TestAccuracy || !strings.Contains(rep.TestSource, "replay") {
				t.Fatalf("curve or source not filled: %+v, %q", got[len(got)-1], rep.TestSource)
			}
			if !strings.Contains(Markdown(rep, PlotNote{}), "test accuracy on a9a.t") || !strings.Contains(Verdict(rep), "held-out a9a.t") {
				t.Fatal("report.md does not give the test accuracy")
			}
		})
	}
}

// TestWriteOutputsWithoutCurve: a run that recorded nothing (or one point) still writes report.json,
// report.md, curves.csv and the plot — the log-scale plot used to panic and lose them all.
func TestWriteOutputsWithoutCurve(t *testing.T) {
	for _, tc := range []struct {
		name  string
		curve []status.Point
	}{
		{"nothing", nil},
		{"initial point only", []status.Point{{Round: 0, Epoch: 0, Loss: 0.69, Gap: 0.2}}},
		{"flat", []status.Point{{Round: 0, Loss: 0.69, Gap: 0.2}, {Round: 1, Loss: 0.69, Gap: 0.2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := &Options{Spec: smallSpec(4, 1, "shb", 20), Out: dir, Series: "run"}
			o.withDefaults()
			g, err := genesis.New("t", []string{"a", "b", "c", "d"}, o.Spec)
			if err != nil {
				t.Fatal(err)
			}
			rep := &Report{Config: Config{Spec: g.Spec, Series: "run"}, Outcome: "timed-out", HonestAgree: true,
				FinalLoss: Num(math.NaN()), FinalGap: Num(math.NaN()), InitialLoss: Num(math.NaN()), InitialGap: Num(math.NaN()),
				TestAccuracy: Num(math.NaN()), TestLoss: Num(math.NaN()), TestData: g.Spec.TestDataName()}
			if err := writeOutputs(context.Background(), o, rep, tc.curve); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"report.json", "report.md", "curves.csv", "curves.png", "curves.svg"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
			if !strings.Contains(string(md), "Held-out score: n/a") {
				t.Errorf("report.md does not say why there is no test accuracy:\n%s", md)
			}
		})
	}
}
