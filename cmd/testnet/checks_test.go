package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/testnet/experiment"
)

// TestBadNumbersNameTheirFlag: a negative or otherwise unusable number is refused before anything
// runs, with an error naming the flag.
func TestBadNumbersNameTheirFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sim", "--epochs", "-1"}, "--epochs must be a positive number, got -1"},
		{[]string{"sim", "--epochs", "0"}, "--epochs must be a positive number"},
		{[]string{"sim", "--workers", "-2"}, "--workers must be 0 (one per core) or more, got -2"},
		{[]string{"sim", "--seeds", "0"}, "--seeds must be at least 1"},
		{[]string{"sim", "--rounds", "-3"}, "--rounds must be at least 1, got -3"},
		{[]string{"sim", "--n", "0"}, "--n must be at least 1"},
		{[]string{"sim", "--byz", "-1"}, "--byz must be 0 or more"},
		{[]string{"sim", "--batch", "0"}, "--batch must be at least 1"},
		{[]string{"sim", "--lr", "-0.1"}, "--lr must be a positive number"},
		{[]string{"sim", "--participation", "0"}, "--participation must be in (0, 1]"},
		{[]string{"sim", "--p", "2"}, "--p must be in [0, 1]"},
		{[]string{"sim", "--eval-every", "-1"}, "--eval-every must be at least 1"},
		{[]string{"sim", "--momentum", "1"}, "--momentum must be in [0, 1)"},
		{[]string{"up", "--latency", "-5ms"}, "--latency must be 0 or a positive duration, got -5ms"},
		{[]string{"up", "--timeout", "0s"}, "--timeout must be a positive duration"},
		{[]string{"up", "--grace", "-1s"}, "--grace must be 0 or a positive duration"},
		{[]string{"up", "--epochs", "-1"}, "--epochs must be a positive number"},
		{[]string{"up", "--log-level", "loud"}, "--log-level must be debug, info, warn or error"},
		{[]string{"up", "-n", "6", "-byz", "2"}, "consensus (BFT) needs n > 3·byz, so at most 1 Byzantine of 6"},
		{[]string{"up", "--preset", "fig1-middle", "-n", "12", "-byz", "4"}, "at most 3 Byzantine of 12"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append(tc.args, "--out", t.TempDir())
			err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestDefaultByzantine: -n without --byz keeps 5 Byzantine members when n > 15 and otherwise takes the
// most consensus tolerates, saying so; --byz given is kept (sim may study byz ≥ n/3).
func TestDefaultByzantine(t *testing.T) {
	tests := []struct {
		n       int
		set     map[string]bool
		want    int
		noted   bool
		wantBFT bool // checkBFT accepts the result
	}{
		{4, map[string]bool{"n": true}, 1, true, true},
		{7, map[string]bool{"n": true}, 2, true, true},
		{3, map[string]bool{"n": true}, 0, true, true},
		{20, map[string]bool{"n": true}, 5, false, true},
		{30, map[string]bool{"n": true}, 5, false, true},
		{4, map[string]bool{"n": true, "byz": true}, 5, false, false},
	}
	for _, tc := range tests {
		spec := sim.Default()
		spec.Members = tc.n
		exp := &experiment.Experiment{Seeds: []uint64{1}, Series: []experiment.Series{{Name: "run", Spec: spec}}}
		var note bytes.Buffer
		defaultByzantine(exp, tc.set, &note)
		if got := exp.Series[0].Spec.Byzantine; got != tc.want || (note.Len() > 0) != tc.noted {
			t.Errorf("n = %d, set %v: byz %d (note %q), want %d", tc.n, tc.set, got, note.String(), tc.want)
		}
		if err := checkBFT(exp); (err == nil) != tc.wantBFT {
			t.Errorf("n = %d: checkBFT = %v", tc.n, err)
		}
	}
}

// TestSimOneRoundWritesReport: `testnet sim --rounds 1` used to panic in the log-scale plot (the gap
// never moves, so the axis had no range) and lose its outputs; now it writes them all, with the test
// accuracy of a9a.t in the summary and report.md.
func TestSimOneRoundWritesReport(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"sim", "--quiet", "--rounds", "1", "--out", dir}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, f := range []string{"curves.csv", "curves.png", "curves.svg", "config.json", "report.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, want := range []string{"| run | 1 | 1 |", "| a9a.t | 0.7638 |", "![gap against epochs](curves.png)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(out.String(), "test accuracy") || !strings.Contains(out.String(), "0.7638") {
		t.Errorf("summary lacks the test accuracy:\n%s", out.String())
	}
}

// TestSimTestDataFlag: --test-data none drops the held-out columns' values; a file is scored.
func TestSimTestDataFlag(t *testing.T) {
	dir := t.TempDir()
	test := filepath.Join(dir, "t.libsvm")
	if err := os.WriteFile(test, []byte("+1 1:1\n-1 2:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ value, want string }{{"none", ",nan,nan\n"}, {test, ",0.5\n"}} {
		csv := simOnce(t, t.TempDir(), "--rounds", "1", "--test-data", tc.value)
		if first := strings.SplitN(string(csv), "\n", 3)[1] + "\n"; !strings.HasSuffix(first, tc.want) {
			t.Errorf("--test-data %s: first row %q, want it to end %q", tc.value, first, tc.want)
		}
	}
}

// TestUpHelp: `testnet up -h` names the argument of each flag (no backquoted words taken for one),
// shows up's own default of 200 rounds and says how -byz defaults.
func TestUpHelp(t *testing.T) {
	var errb bytes.Buffer
	_ = run(context.Background(), []string{"up", "-h"}, &bytes.Buffer{}, &errb)
	help := errb.String()
	for _, want := range []string{"  -d\t", "  -no-sim-check\n", "  -join K@ROUND\n", "  -kill K@ROUND\n", "  -partition FRACTION@ROUND+DURATION\n",
		"number of rounds (default 200)", "largest b with n > 3b", "  -log-level string", "  -test-data string"} {
		if !strings.Contains(help, want) {
			t.Errorf("up -h lacks %q:\n%s", want, help)
		}
	}
	for _, bad := range []string{"-d testnet", "-no-sim-check testnet", "(default 10000)"} {
		if strings.Contains(help, bad) {
			t.Errorf("up -h has %q", bad)
		}
	}
}

// TestSingleSampleWarning: a partial round of one member is warned about, two are not.
func TestSingleSampleWarning(t *testing.T) {
	for _, tc := range []struct {
		participation float64
		warn          bool
	}{{0.05, true}, {0.1, false}, {0.2, false}} {
		spec := sim.Default()
		spec.Participation = tc.participation
		var note bytes.Buffer
		warnSingleSample(&experiment.Experiment{Series: []experiment.Series{{Name: "run", Spec: spec}}}, &note)
		if (note.Len() > 0) != tc.warn || (tc.warn && !strings.Contains(note.String(), "single member")) {
			t.Errorf("participation %v: %q", tc.participation, note.String())
		}
	}
}
