package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func simOnce(t *testing.T, dir string, extra ...string) []byte {
	t.Helper()
	args := append([]string{"sim", "--quiet", "--out", dir}, extra...)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("testnet %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "curves.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSimIsByteReproducible: same flags and seed ⇒ byte-identical curves.csv, and config.json alone
// repeats the run.
func TestSimIsByteReproducible(t *testing.T) {
	flags := []string{"--preset", "fig1-left", "--seeds", "2", "--rounds", "400", "--schedule", "100", "--eval-every", "20"}
	a := simOnce(t, t.TempDir(), flags...)
	b := simOnce(t, t.TempDir(), flags...)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with the same flags wrote different curves.csv")
	}
	if !bytes.HasPrefix(a, []byte("series,seed,epoch,round,loss,gap,test_loss,test_accuracy\n")) {
		t.Fatalf("curves.csv header: %q", strings.SplitN(string(a), "\n", 2)[0])
	}
	// Both series, two seeds each, 400/20 + 1 points per run.
	if lines := bytes.Count(a, []byte("\n")); lines != 1+2*2*21 {
		t.Errorf("curves.csv has %d lines, want %d", lines, 1+2*2*21)
	}
	first := t.TempDir()
	simOnce(t, first, flags...)
	again := simOnce(t, t.TempDir(), "--config", filepath.Join(first, "config.json"))
	if !bytes.Equal(a, again) {
		t.Fatal("re-running config.json gave a different curves.csv")
	}
	for _, f := range []string{"curves.png", "curves.svg", "config.json", "report.md"} {
		if _, err := os.Stat(filepath.Join(first, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

func TestSimRejectsBadFlags(t *testing.T) {
	cases := [][]string{
		{"sim", "--preset", "nope"},
		{"sim", "--rounds", "10", "--epochs", "1"},
		{"sim", "--lambda", "-1"},
		{"sim", "--byz", "20"},
		{"sim", "--agg", "bogus", "--rounds", "1"},
		{"sim", "stray"},
		{"frobnicate"},
	}
	for _, args := range cases {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("testnet %s succeeded", strings.Join(args, " "))
		}
	}
}
