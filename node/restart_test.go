package node

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/byzpp/byzpp/node/storage"
	"github.com/byzpp/byzpp/p2p/wire"
)

// TestRestartOnCorruptStateDir: a member crashes at round 6 of 20, its StateDir is damaged while it
// is down, and it restarts on the same directory. It must never load what fails its checks: it falls
// back to the journal's intact records before the damage, or (when nothing can be trusted) quarantines
// the files and starts from the genesis state; then it refetches certified states from the others and
// ends on the honest digest.
func TestRestartOnCorruptStateDir(t *testing.T) {
	skipShort(t)
	const crashAt, rounds = 6, 20
	journal := func(dir string) string { return filepath.Join(dir, storage.JournalFile) }
	rewrite := func(t *testing.T, path string, f func([]byte) []byte) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("reading %s: %v", path, err)
			return
		}
		if err := os.WriteFile(path, f(b), 0o600); err != nil {
			t.Errorf("writing %s: %v", path, err)
		}
	}
	cases := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		// fresh: nothing can be trusted, so the member restarts from round 0 with the files
		// quarantined; otherwise it restarts from an intact earlier record (round < crashAt).
		fresh bool
	}{
		{"flipped bytes mid-journal", func(t *testing.T, dir string) {
			rewrite(t, journal(dir), func(b []byte) []byte {
				for i := len(b) / 2; i < len(b)/2+8; i++ {
					b[i] ^= 0xa5
				}
				return b
			})
		}, false},
		{"journal truncated to half", func(t *testing.T, dir string) {
			rewrite(t, journal(dir), func(b []byte) []byte { return b[:len(b)/2+3] })
		}, false},
		{"journal truncated inside its header", func(t *testing.T, dir string) {
			rewrite(t, journal(dir), func(b []byte) []byte { return b[:5] })
		}, true},
		{"journal overwritten with garbage", func(t *testing.T, dir string) {
			rewrite(t, journal(dir), func(b []byte) []byte { return bytes.Repeat([]byte("garbage!"), len(b)/8) })
		}, true},
		{"legacy state file corrupt", func(t *testing.T, dir string) {
			// An older version's checked state file with a flipped payload byte, and no journal.
			if err := os.Remove(journal(dir)); err != nil {
				t.Error(err)
			}
			path := filepath.Join(dir, storage.StateFile)
			if err := storage.WriteChecked(path, bytes.Repeat([]byte{7}, 300)); err != nil {
				t.Error(err)
			}
			rewrite(t, path, func(b []byte) []byte { b[len(b)-10] ^= 1; return b })
		}, true},
		{"checksummed record holding a state that is not the certified one", func(t *testing.T, dir string) {
			// Passes every checksum; only verifyState can tell (the digest no longer matches the
			// certified proposal).
			err := storage.ReplaceState(dir, func(raw []byte) ([]byte, error) {
				if raw == nil {
					return nil, errors.New("the journal holds no state")
				}
				var resp wire.StateResponse
				if err := wire.Unmarshal(raw, &resp, wire.DefaultLimits()); err != nil {
					return nil, err
				}
				resp.X[0] += 1
				return wire.Marshal(&resp)
			})
			if err != nil {
				t.Errorf("rewriting the journal: %v", err)
			}
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := runNet(t, netPlan{spec: adversarialSpec(4, rounds), rounds: rounds,
					crashAt: map[int]uint64{2: crashAt}, crashPause: time.Second,
					beforeRestart: func(dir string) { c.corrupt(t, dir) }})
				r.checkHonest(t)
				if r.starts[2] != 2 {
					t.Fatalf("member 2 started %d times, want a crash and a restart", r.starts[2])
				}
				nd := r.nodes[2]
				switch {
				case c.fresh && r.resumedAt != 0:
					t.Errorf("restarted at round %d from a StateDir that cannot be trusted, want 0", r.resumedAt)
				case !c.fresh && r.resumedAt >= crashAt:
					t.Errorf("restarted at round %d, want an intact record before the damage (< %d)", r.resumedAt, crashAt)
				}
				if !nd.mayHaveForgotten && (c.fresh || c.name == "flipped bytes mid-journal") {
					t.Error("the restarted member did not notice the damage")
				}
				if c.fresh {
					if _, err := os.Stat(filepath.Join(r.dir, "2", storage.JournalFile+".corrupt")); err != nil &&
						c.name != "legacy state file corrupt" {
						t.Errorf("the damaged journal was not quarantined: %v", err)
					}
				}
				want := r.nodes[0].Status()
				if got := nd.Status(); got.Round != want.Round || got.Digest != want.Digest {
					t.Errorf("restarted member ends at round %d digest %.12s, member 0 at %d %.12s",
						got.Round, got.Digest, want.Round, want.Digest)
				}
				t.Logf("restarted at round %d, caught up to %d", r.resumedAt, nd.Status().Round)
			})
		})
	}
}
