package up

import (
	"context"
	"encoding/hex"
	"math"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
)

// TestUpLoopback runs four real peer processes on 127.0.0.1 for 20 rounds and checks that the honest
// peers agree and end on sim.Runner's final state.
func TestUpLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the peer binary and runs four processes")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "peer")
	if b, err := exec.Command("go", "build", "-o", bin, "github.com/byzpp/byzpp/cmd/peer").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	s := sim.Default()
	s.Members, s.Byzantine, s.Attack = 4, 0, "none"
	s.Participation, s.Schedule, s.Rounds, s.EvalEvery = 0.5, 10, 20, 5
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Spec: s, Out: filepath.Join(dir, "out"), PeerBin: bin, Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.HonestAgree || rep.RoundsDecided != 20 || len(rep.Peers) != 4 {
		t.Fatalf("report %+v", rep)
	}
	setup, err := sim.Build(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.NewRunner(setup, math.NaN()).Run(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := res.Final.Digest()
	for _, p := range rep.Peers {
		if p.FinalDigest != hex.EncodeToString(want[:]) {
			t.Errorf("peer %s ended on %s, sim on %x", p.ID, p.FinalDigest, want)
		}
	}
	t.Logf("%.1f rounds/s over %.1fs", rep.RoundsPerSecond, rep.WallSeconds)
}
