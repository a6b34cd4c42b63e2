package up

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/modelfile"
	"github.com/byzpp/byzpp/testnet/curves"
)

var (
	peerOnce sync.Once
	peerBin  string
	peerErr  error
)

// buildPeer builds the peer binary once for all the end-to-end tests.
func buildPeer(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds the peer binary and runs real processes")
	}
	peerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "byzpp-up-test")
		if err != nil {
			peerErr = err
			return
		}
		peerBin = filepath.Join(dir, "peer")
		if b, err := exec.Command("go", "build", "-o", peerBin, "github.com/byzpp/byzpp/cmd/peer").CombinedOutput(); err != nil {
			peerErr = errors.New(string(b))
		}
	})
	if peerErr != nil {
		t.Fatalf("go build peer: %v", peerErr)
	}
	return peerBin
}

func runUp(t *testing.T, o Options) (*Report, error) {
	t.Helper()
	o.PeerBin = buildPeer(t)
	if o.Out == "" {
		o.Out = t.TempDir()
	}
	if o.Timeout == 0 {
		o.Timeout = 50 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	start := time.Now()
	rep, err := Run(ctx, o)
	t.Logf("run took %.1fs", time.Since(start).Seconds())
	return rep, err
}

// requireSafeAndLive checks the honest peers agree and decided every round.
func requireSafeAndLive(t *testing.T, rep *Report, rounds uint64) {
	t.Helper()
	if rep == nil || !rep.HonestAgree || rep.RoundsDecided < rounds || rep.Outcome != "done" {
		t.Fatalf("report %+v", rep)
	}
}

// generousTimeouts give a loaded machine seconds, not tenths, before a leader proposes without a
// message or an attacker crafts without every honest message (it waits half the collect window):
// either would make the run legitimately differ from sim. A healthy run never waits them out.
func generousTimeouts() *genesis.Timeouts {
	t := genesis.DefaultTimeouts()
	t.CollectTicks, t.ProposeBase, t.ProposeDelta = 1500, 2000, 500
	return &t
}

// TestUpEqualsSim: without network-level faults, `up` and `sim` give the same curve for the same
// configuration and seed, number for number, and the same final model; a learning-level attack is on.
func TestUpEqualsSim(t *testing.T) {
	s := smallSpec(4, 1, "shb", 20)
	out := t.TempDir()
	rep, err := runUp(t, Options{Spec: s, Out: out, Series: "run", CheckSim: true, Timeouts: generousTimeouts()})
	if err != nil {
		t.Fatal(err)
	}
	requireSafeAndLive(t, rep, 20)
	if !rep.SimComparable || rep.SimMatch == nil || !*rep.SimMatch {
		t.Fatalf("sim comparable %v, match %v", rep.SimComparable, rep.SimMatch)
	}
	// What a round cost: every protocol message left in some write, and carried payload.
	if pr := rep.PerRound; pr == nil || pr.Bytes <= 0 || pr.Writes <= 0 || pr.Messages < pr.Writes {
		t.Fatalf("per-round cost %+v", rep.PerRound)
	}
	// Independently of the report: curves.csv against the simulator's rows, and the final digest.
	b, err := os.ReadFile(filepath.Join(out, "curves.csv"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := curves.ReadCSV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want, err := SimRows(context.Background(), "run", rep.Config.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if ok, where := SameRows(got, want); !ok || len(got) != 5 {
		t.Fatalf("curves.csv differs from sim (%d points): %s", len(got), where)
	}
	setup, err := sim.Build(rep.Config.Spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.NewRunner(setup, math.NaN()).Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Final.Digest()
	for _, p := range rep.Peers {
		if p.Honest && p.FinalDigest != hex.EncodeToString(d[:]) {
			t.Errorf("member %d ended on %s, sim on %x", p.Index, p.FinalDigest, d)
		}
	}
	// The final model: served by an honest peer, written to the out folder, the simulator's weights,
	// certified by the run, scored as the simulator scores it (and so are the curve's points).
	g, err := genesis.Load(filepath.Join(out, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := modelfile.Read(filepath.Join(out, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modelfile.Verify(g, m); err != nil || !slices.Equal(m.X, res.Final.X) || rep.Model == nil || rep.Model.Round != 20 {
		t.Errorf("final model: verify %v, sim's weights %v, report %+v", err, slices.Equal(m.X, res.Final.X), rep.Model)
	}
	if last, lastGot := want[len(want)-1], got[len(got)-1]; float64(rep.TestAccuracy) != last.TestAccuracy || math.IsNaN(last.TestAccuracy) ||
		lastGot.TestAccuracy != last.TestAccuracy || lastGot.TestLoss != last.TestLoss {
		t.Errorf("test accuracy %v (curve %v), sim's %v", rep.TestAccuracy, lastGot.TestAccuracy, last.TestAccuracy)
	}
	for _, f := range []string{"report.json", "report.md", "curves.png", "genesis.json", StateFile, "model.npy", "model.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if st, err := ReadState(out); err != nil || !st.Finished() || st.Snapshot.Phase != "done" {
		t.Errorf("state file %+v, %v", st, err)
	}
}

// TestUpNetworkAttack: an equivocating Byzantine peer (a network-level attack) neither splits nor
// stalls the honest peers.
func TestUpNetworkAttack(t *testing.T) {
	rep, err := runUp(t, Options{Spec: smallSpec(4, 1, "none", 10), Attacks: []string{"equivocate"}})
	if err != nil {
		t.Fatal(err)
	}
	requireSafeAndLive(t, rep, 10)
	if rep.SimComparable || rep.Peers[3].Attack != "equivocate" || rep.Config.Spec.Attack != "none" {
		t.Fatalf("report %+v", rep)
	}
}

// TestUpKillRestart: an honest peer killed with SIGKILL comes back on its state directory and
// catches up; the run still ends safe and live.
func TestUpKillRestart(t *testing.T) {
	rep, err := runUp(t, Options{Spec: smallSpec(4, 0, "none", 40), Kills: []Kill{{Count: 1, Round: 10, Down: time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	requireSafeAndLive(t, rep, 40)
	if rep.Peers[0].Restarts != 1 || len(rep.Events) != 2 || rep.Events[0].Peers[0] != 0 {
		t.Fatalf("restarts %d, events %+v", rep.Peers[0].Restarts, rep.Events)
	}
}

// TestUpPartition: a minority cut off by blocking (both sides running: the minority keeps answering
// polls while cut) rejoins and the run ends safe and live.
func TestUpPartition(t *testing.T) {
	var sawCut bool
	o := Options{Spec: smallSpec(5, 0, "none", 100),
		Partitions: []Partition{{Fraction: 0.2, Round: 10, Duration: 2 * time.Second}}}
	o.OnSnapshot = func(s *Snapshot) {
		sawCut = sawCut || s.Peers[0].State == "cut"
	}
	rep, err := runUp(t, o)
	if err != nil {
		t.Fatal(err)
	}
	requireSafeAndLive(t, rep, 100)
	if len(rep.Events) != 2 || !strings.Contains(rep.Events[0].What, "blocked both ways") ||
		rep.Events[0].Peers[0] != 0 || rep.Events[1].What != "partition healed" {
		t.Fatalf("events %+v", rep.Events)
	}
	if !sawCut {
		t.Fatal("cut-off member 0 never answered a poll while cut")
	}
}

// TestUpLatency: --latency reaches the peers (every message held 50ms, so a round, at least two
// sequential hops, takes 100ms or more) and the run still ends safe and live.
func TestUpLatency(t *testing.T) {
	rep, err := runUp(t, Options{Spec: smallSpec(4, 0, "none", 10), Latency: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	requireSafeAndLive(t, rep, 10)
	if rep.Config.LatencyMS != 50 || rep.RoundsPerSecond > 10 || rep.SimComparable {
		t.Fatalf("latency %v ms, %.1f rounds/s, sim comparable %v", rep.Config.LatencyMS, rep.RoundsPerSecond, rep.SimComparable)
	}
}

// TestUpInterruptLeavesNoProcess: cancelling the run stops every peer and still writes a report.
func TestUpInterruptLeavesNoProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	o := Options{Spec: smallSpec(4, 0, "none", 100000), Out: t.TempDir(), PeerBin: buildPeer(t), Timeout: time.Minute}
	o.OnSnapshot = func(s *Snapshot) {
		if s.Round >= 3 {
			cancel()
		}
	}
	rep, err := Run(ctx, o)
	if !errors.Is(err, context.Canceled) || rep == nil || rep.Outcome != "interrupted" || !rep.HonestAgree || rep.RoundsDecided < 3 {
		t.Fatalf("err %v, report %+v", err, rep)
	}
	for i := range 4 {
		b, err := os.ReadFile(filepath.Join(o.Out, "member-"+strconv.Itoa(i), "log"))
		if err != nil || !bytes.Contains(b, []byte(`"msg":"stopped"`)) {
			t.Errorf("member %d did not stop cleanly: %v", i, err)
		}
	}
	if _, err := os.Stat(filepath.Join(o.Out, "report.json")); err != nil {
		t.Fatal(err)
	}
}

// TestUpReportsRefusedAttack: a peer that refuses its attack fails the run at once, naming its log.
func TestUpReportsRefusedAttack(t *testing.T) {
	_, err := runUp(t, Options{Spec: smallSpec(4, 1, "none", 10), Attacks: []string{"no-such-attack"}})
	if !errors.Is(err, ErrPeerExited) {
		t.Fatalf("err = %v", err)
	}
}

// TestUpReportsPenalties: against a peer sending invalid messages, the report takes the exact numbers
// the peers serve: rejected gossip by reason (not a bare total), how many honest peers penalise each
// peer and for what (the attacker for invalid messages) and the failed attempts the peers counted.
func TestUpReportsPenalties(t *testing.T) {
	rep, err := runUp(t, Options{Spec: smallSpec(4, 1, "none", 30), Attacks: []string{"invalid"}})
	if err != nil {
		t.Fatal(err)
	}
	requireSafeAndLive(t, rep, 30)
	var honestRejects uint64
	for _, p := range rep.Peers {
		if _, ok := p.Rejected["total"]; ok {
			t.Errorf("member %d: rejected %v, want reasons", p.Index, p.Rejected)
		}
		if p.Penalised == nil {
			t.Fatalf("member %d: penalised not reported", p.Index)
		}
		if p.Honest {
			for _, n := range p.Rejected {
				honestRejects += n
			}
			// Timing kinds ("silent": no vote seen at a decided height; "stale", "future") also name
			// an honest peer whose messages came late or early; the kinds that prove a forgery may not.
			for _, kind := range []string{"invalid", "equivocate", "round-equivocate", "bad-proposal", "censor"} {
				if p.Blamed[kind] != 0 {
					t.Errorf("honest member %d blamed %v", p.Index, p.Blamed)
				}
			}
		}
	}
	byz := rep.Peers[3]
	if byz.Honest || *byz.Penalised < 1 || byz.Blamed["invalid"] == 0 || honestRejects == 0 {
		t.Fatalf("attacker %+v, honest rejects %d", byz, honestRejects)
	}
	t.Logf("attacker penalised by %d, blamed %v; honest rejects %d; failed attempts %d", *byz.Penalised, byz.Blamed, honestRejects, rep.AttemptsFailed)
}

// TestUpChurn: in an open run, a volunteer started with one bootstrap address and the run id joins,
// then a member leaves; the run ends safe and live, the volunteer among the peers that decided every
// round and the leaver stopped by itself.
func TestUpChurn(t *testing.T) {
	// Enough rounds that the join (a few observer polls and a decision) lands well before the end on a
	// fast machine, and a leave far enough after it that both are seen separately.
	const rounds = 3000
	rep, err := runUp(t, Options{Spec: smallSpec(4, 0, "none", rounds), Joins: []Churn{{Count: 1, Round: 10}},
		Leaves: []Churn{{Count: 1, Round: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	requireSafeAndLive(t, rep, rounds)
	if len(rep.Peers) != 5 || rep.Peers[4].FinalRound < rounds {
		t.Fatalf("the volunteer did not decide every round: %+v", rep.Peers)
	}
	if rep.Peers[0].FinalRound >= rounds {
		t.Errorf("the leaver kept deciding: %+v", rep.Peers[0])
	}
	var left bool
	for _, e := range rep.Events {
		left = left || strings.Contains(e.What, "left the run")
	}
	if !left || rep.SimComparable {
		t.Errorf("events %+v, sim comparable %v", rep.Events, rep.SimComparable)
	}
}
