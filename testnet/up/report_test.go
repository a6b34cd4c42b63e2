package up

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/status"
)

func smallSpec(n, byz int, attack string, rounds int) sim.Spec {
	s := sim.Default()
	s.Members, s.Byzantine, s.Attack = n, byz, attack
	s.Participation, s.Schedule, s.Rounds, s.EvalEvery = 0.5, 10, rounds, 5
	return s
}

func TestPenaltiesFromBlame(t *testing.T) {
	procs := []*proc{{index: 0, id: "a", honest: true}, {index: 1, id: "b", honest: true}, {index: 2, id: "c"}}
	last := []*status.Status{
		{Blame: map[int]map[string]uint64{2: {"equivocate": 3, "stale": 0}}},
		{Blame: map[int]map[string]uint64{2: {"equivocate": 1}, 9: {"x": 1}, -1: {"x": 1}}, Penalised: []string{"c", "zz"}},
		{Blame: map[int]map[string]uint64{0: {"invalid": 7}}}, // a Byzantine peer's accusations do not count
	}
	by, blamed, reported := penalties(procs, last)
	if !reported || by[2] != 2 || by[0] != 0 || by[1] != 0 || blamed[2]["equivocate"] != 4 || len(blamed[2]) != 1 || len(blamed) != 1 {
		t.Fatalf("by %v, blamed %v, reported %v", by, blamed, reported)
	}
	withholder := []*status.Status{{Blame: map[int]map[string]uint64{2: {"silent": 3}}}, nil, nil}
	if by, _, _ := penalties(procs, withholder); by[2] != 1 {
		t.Errorf("a member blamed for silence is not penalised: %v", by)
	}
	if _, _, reported := penalties(procs, []*status.Status{{}, nil, nil}); reported {
		t.Fatal("peers that report no blame reported")
	}
}

func TestMarkdownAndVerdict(t *testing.T) {
	rep := &Report{Config: Config{Spec: smallSpec(4, 1, "shb", 20), Series: "run", Attacks: []string{"shb"}, Kills: []string{"1@5"}},
		Outcome: "done", HonestAgree: true, RoundsDecided: 20, WallSeconds: 2, RoundsPerSecond: 10,
		InitialLoss: 0.69, FinalLoss: 0.64, InitialGap: 0.2, FinalGap: 0.1,
		Peers: []PeerReport{
			{Index: 0, Honest: true, FinalRound: 20, FinalDigest: "abcdef0123456789", Rejected: map[string]uint64{"bad-signature": 2}},
			{Index: 3, Attack: "shb", FinalRound: 20, Rejected: map[string]uint64{"total": 0}},
		},
		Events: []Event{{Seconds: 1, Round: 5, What: "killed", Peers: []int{0}}}}
	v := Verdict(rep)
	for _, want := range []string{"**Safe**", "**Live**", "2-fold", "rejected 2 gossip"} {
		if !strings.Contains(v, want) {
			t.Errorf("verdict %q lacks %q", v, want)
		}
	}
	rep.HonestAgree, rep.RoundsDecided, rep.Outcome, rep.FinalGap, rep.FinalLoss = false, 7, "interrupted", Num(math.NaN()), 0.7
	v = Verdict(rep)
	for _, want := range []string{"Safety violated", "Not finished", "7 of 20", "Did not learn"} {
		if !strings.Contains(v, want) {
			t.Errorf("verdict %q lacks %q", v, want)
		}
	}
	md := Markdown(rep, PlotNote{})
	for _, want := range []string{"![gap against epochs](curves.png)", "| 3 | Byzantine: shb |", "bad-signature: 2", "kill 1@5", "members [0] killed"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}

func TestStateFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadState(dir); err == nil {
		t.Fatal("state read from an empty directory")
	}
	snap := &Snapshot{Phase: "running", Round: 3, Target: 9, Loss: Num(math.NaN()), Gap: 0.5, Peers: []PeerView{{Index: 1, State: "frozen"}}}
	if err := writeState(dir, &State{PID: 42, Snapshot: snap}); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != 42 || st.Finished() || st.Snapshot.Round != 3 || !math.IsNaN(float64(st.Snapshot.Loss)) || st.Snapshot.Peers[0].State != "frozen" {
		t.Fatalf("read back %+v", st)
	}
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadState(dir); err == nil {
		t.Fatal("a truncated state file was accepted")
	}
}
