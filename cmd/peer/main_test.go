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

func TestHelpKeygenGenesis(t *testing.T) {
	ctx := context.Background()
	var out, errb bytes.Buffer
	if err := run(ctx, nil, &out, &errb); err != nil || !strings.Contains(out.String(), "peer run") {
		t.Fatalf("bare peer: %v, %q", err, out.String())
	}
	dir := t.TempDir()
	var ids []string
	for _, name := range []string{"a", "b", "c", "d"} {
		out.Reset()
		if err := run(ctx, []string{"keygen", "--key", filepath.Join(dir, name+".key")}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strings.TrimSpace(out.String()))
	}
	gpath := filepath.Join(dir, "genesis.json")
	args := []string{"genesis", "--members", strings.Join(ids, ","), "--preset", "fig1-middle", "--byz", "1", "--rounds", "20", "--out", gpath}
	if err := run(ctx, args, &out, &errb); err != nil {
		t.Fatal(err)
	}
	g, err := genesis.Load(gpath)
	if err != nil {
		t.Fatal(err)
	}
	if g.Spec.Members != 4 || g.Spec.Byzantine != 1 || g.Spec.Rounds != 20 || len(g.Byzantine) != 1 || g.Byzantine[0] != 3 {
		t.Errorf("genesis spec %+v, byzantine %v", g.Spec, g.Byzantine)
	}
	// A loose key file is refused.
	loose := filepath.Join(dir, "a.key")
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"run", "--genesis", gpath, "--key", loose, "--state", filepath.Join(dir, "st")}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "chmod") {
		t.Errorf("loose key: %v", err)
	}
	// A wrong genesis is refused.
	if err := os.WriteFile(gpath, []byte(`{"version": 9}`), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"run", "--genesis", gpath, "--key", filepath.Join(dir, "b.key"), "--state", filepath.Join(dir, "st")}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "genesis") {
		t.Errorf("bad genesis: %v", err)
	}
	if err := run(ctx, []string{"frobnicate"}, &out, &errb); err == nil {
		t.Error("unknown command accepted")
	}
}
