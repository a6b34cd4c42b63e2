package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/byzpp/byzpp/testnet/up"
)

func TestLiveViewPlainLines(t *testing.T) {
	var b bytes.Buffer
	v := newLiveView(&b, "s")
	snap := &up.Snapshot{Seconds: 3, Round: 7, Target: 20, Leader: 2, Attempt: 1, Loss: 0.5, Gap: up.Num(math.NaN()),
		Peers: []up.PeerView{{Index: 0, Honest: true, Rejected: 4, State: "up"}, {Index: 1, Rejected: 0, State: "down"}}}
	v.draw(snap)
	v.draw(snap) // throttled: not a terminal, one line every few seconds
	if got := strings.Count(b.String(), "\n"); got != 1 {
		t.Fatalf("%d lines:\n%s", got, b.String())
	}
	line := b.String()
	for _, want := range []string{"round 7/20", "leader 2", "attempt 1", "loss 0.5", "gap -", "0:4", "1*:0"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "\x1b[") {
		t.Error("escape sequences written to a non-terminal")
	}
	if statesLine(snap) != "not up: 1 down" {
		t.Errorf("states line %q", statesLine(snap))
	}
	if w := wrap("aaa bbb ccc", 6); len(w) != 3 || w[1] != "  bbb" {
		t.Errorf("wrap = %q", w)
	}
}

// TestUpPresetSeriesCommand runs `testnet up` on one series of a paper preset with a Byzantine peer,
// then `testnet status` on its directory.
func TestUpPresetSeriesCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the peer binary and runs real processes")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "peer")
	if b, err := exec.Command("go", "build", "-o", bin, "github.com/byzpp/byzpp/cmd/peer").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	args := []string{"up", "--peer", bin, "--out", out, "--preset", "fig1-middle", "--series", "full", "-n", "4", "-byz", "1",
		"--rounds", "10", "--schedule", "5", "--eval-every", "5", "--quiet"}
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	raw, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep up.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Config.Series != "full" || rep.Config.Spec.Participation != 1 || rep.Config.Spec.Attack != "shb" || !rep.HonestAgree ||
		rep.RoundsDecided != 10 || rep.SimMatch == nil || !*rep.SimMatch {
		t.Fatalf("report %s", raw)
	}
	if !strings.Contains(stdout.String(), "**Safe**") {
		t.Errorf("stdout %q", stdout.String())
	}
	stdout.Reset()
	if err := run(ctx, []string{"status", "--out", out}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if s := stdout.String(); !strings.Contains(s, "not running") || !strings.Contains(s, "done") || !strings.Contains(s, "round 10/10") {
		t.Errorf("status:\n%s", s)
	}
	if err := run(ctx, []string{"down", "--out", out}, &stdout, &stderr); err == nil {
		t.Error("down succeeded with nothing running")
	}
}
