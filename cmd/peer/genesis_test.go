package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/byzpp/byzpp/node/genesis"
)

// memberIDs makes n keys in dir and returns their peer IDs.
func memberIDs(t *testing.T, dir string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"keygen", "--key", filepath.Join(dir, "k"+string(rune('a'+i))+".key")}, &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strings.TrimSpace(out.String()))
	}
	return ids
}

// TestGenesisRefuses: `peer genesis` refuses what would only fail later, naming the flag, the file and
// line, or the bound — and writes nothing.
func TestGenesisRefuses(t *testing.T) {
	dir := t.TempDir()
	ids := strings.Join(memberIDs(t, dir, 4), ",")
	corrupt := filepath.Join(dir, "corrupt.libsvm")
	if err := os.WriteFile(corrupt, []byte("+1 1:1 2:1\n-1 3:1\n+1 2:x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"corrupt data", []string{"--data", corrupt}, corrupt + ":3"},
		{"missing data", []string{"--data", filepath.Join(dir, "nope")}, "--data"},
		{"corrupt test data", []string{"--test-data", corrupt}, corrupt + ":3"},
		{"byz at n/3", []string{"--byz", "2"}, "n > 3·byz, so at most 1 Byzantine of 4"},
		{"negative byz", []string{"--byz", "-1"}, "--byz must be 0 or more, got -1"},
		{"negative rounds", []string{"--rounds", "-5"}, "--rounds must be at least 1, got -5"},
		{"participation", []string{"--participation", "1.5"}, "--participation must be in (0, 1]"},
		{"stray argument", []string{"oops"}, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gpath := filepath.Join(t.TempDir(), "genesis.json")
			args := append([]string{"genesis", "--members", ids, "--out", gpath, "--fstar=false"}, tc.args...)
			err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(gpath); err == nil {
				t.Fatal("the genesis was written")
			}
		})
	}
}

// TestGenesisDefaultByz: without --byz, 4 members get 1 Byzantine (the default 5 is not possible),
// said on stderr; a single-member sample is warned about.
func TestGenesisDefaultByz(t *testing.T) {
	dir := t.TempDir()
	gpath := filepath.Join(dir, "genesis.json")
	var out, errb bytes.Buffer
	args := []string{"genesis", "--members", strings.Join(memberIDs(t, dir, 4), ","), "--out", gpath, "--fstar=false"}
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatal(err)
	}
	g, err := genesis.Load(gpath)
	if err != nil {
		t.Fatal(err)
	}
	if g.Spec.Byzantine != 1 || len(g.Byzantine) != 1 {
		t.Errorf("byz %d, byzantine %v; want 1", g.Spec.Byzantine, g.Byzantine)
	}
	for _, want := range []string{"1 Byzantine of 4 members", "samples a single member"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr %q lacks %q", errb.String(), want)
		}
	}
}
