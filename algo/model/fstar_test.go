package model

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/byzpp/byzpp/algo/data"
)

// resetFStarMemory forgets the in-memory cache, so the next FStar call consults the disk.
func resetFStarMemory() {
	fstarMu.Lock()
	clear(fstarMem)
	fstarMu.Unlock()
}

// cacheFiles lists the f* files in dir.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "fstar-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestFStarCachesOnDisk(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(CacheDirEnv, dir)
	resetFStarMemory()
	d := randomDataset(31, 60, 7, 0.5)
	m := NewLogReg(7, 0.02)
	want, _, err := OptimalLoss(m, []*data.Dataset{d})
	if err != nil {
		t.Fatal(err)
	}

	got, err := FStar(m, []*data.Dataset{d})
	if err != nil || got != want {
		t.Fatalf("FStar = %v, %v; want %v", got, err, want)
	}
	files := cacheFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("cache files: %v", files)
	}
	var entry fstarFile
	raw, _ := os.ReadFile(files[0])
	if err := json.Unmarshal(raw, &entry); err != nil || entry.FStar != want {
		t.Fatalf("cache file %s: %v, %+v", raw, err, entry)
	}

	// A fresh process (memory cleared) trusts the file: plant a different value to prove it is read.
	resetFStarMemory()
	entry.FStar = 0.125
	planted, _ := json.Marshal(entry)
	os.WriteFile(files[0], planted, 0o600)
	if got, _ := FStar(m, []*data.Dataset{d}); got != 0.125 {
		t.Fatalf("FStar ignored the cache file: %v", got)
	}
	// The memory cache answers now, whatever the disk says.
	os.Remove(files[0])
	if got, _ := FStar(m, []*data.Dataset{d}); got != 0.125 {
		t.Fatalf("FStar ignored its memory: %v", got)
	}

	// Files that are damaged, or written for another key, are recomputed and rewritten.
	for name, content := range map[string]string{
		"garbage":   "{not json",
		"other key": `{"key": "something else", "fstar": 0.5}`,
		"nan":       `{"key": ` + mustJSON(entry.Key) + `, "fstar": "NaN"}`,
	} {
		resetFStarMemory()
		os.WriteFile(files[0], []byte(content), 0o600)
		if got, err := FStar(m, []*data.Dataset{d}); err != nil || got != want {
			t.Errorf("%s: FStar = %v, %v; want %v", name, got, err, want)
		}
		raw, _ := os.ReadFile(files[0])
		if err := json.Unmarshal(raw, &entry); err != nil || entry.FStar != want {
			t.Errorf("%s: cache not rewritten: %s", name, raw)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestFStarKey checks that everything f* depends on is in the key, and nothing else.
func TestFStarKey(t *testing.T) {
	a := randomDataset(32, 30, 7, 0.5)
	b := randomDataset(33, 30, 7, 0.5)
	base := fstarKey(NewLogReg(7, 0.01).Spec(), 7, []*data.Dataset{a, b})
	renamed := *a
	renamed.Name = "elsewhere"
	if k := fstarKey(NewLogReg(7, 0.01).Spec(), 7, []*data.Dataset{&renamed, b}); k != base {
		t.Error("the dataset's name changed the key")
	}
	others := map[string]string{
		"l2":        fstarKey(NewLogReg(7, 0.02).Spec(), 7, []*data.Dataset{a, b}),
		"features":  fstarKey(NewLogReg(8, 0.01).Spec(), 8, []*data.Dataset{a, b}),
		"model":     fstarKey(NewMLP(7, 2, 0.01).Spec(), NewMLP(7, 2, 0.01).Dim(), []*data.Dataset{a, b}),
		"hidden":    fstarKey(NewMLP(7, 3, 0.01).Spec(), NewMLP(7, 3, 0.01).Dim(), []*data.Dataset{a, b}),
		"shards":    fstarKey(NewLogReg(7, 0.01).Spec(), 7, []*data.Dataset{a, a}),
		"multiples": fstarKey(NewLogReg(7, 0.01).Spec(), 7, []*data.Dataset{a, b, b}),
	}
	seen := map[string]string{base: "base"}
	for name, k := range others {
		if prev, dup := seen[k]; dup {
			t.Errorf("%s has the same key as %s", name, prev)
		}
		seen[k] = name
	}
}

func TestFStarWithoutWritableCache(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	t.Setenv(CacheDirEnv, filepath.Join(blocker, "sub")) // a directory below a regular file cannot exist
	resetFStarMemory()
	d := randomDataset(34, 40, 7, 0.5)
	m := NewLogReg(7, 0.03)
	want, _, _ := OptimalLoss(m, []*data.Dataset{d})
	if got, err := FStar(m, []*data.Dataset{d}); err != nil || got != want {
		t.Fatalf("FStar = %v, %v; want %v", got, err, want)
	}
}

func TestFStarUncacheableModelAndErrors(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	resetFStarMemory()
	d := randomDataset(35, 40, 7, 0.5)
	m := NewLogReg(7, 0.03)
	newton, _, _ := OptimalLoss(m, []*data.Dataset{d})
	got, err := FStar(plainModel{m}, []*data.Dataset{d})
	if err != nil || got-newton > 1e-10 || got < newton-1e-15 {
		t.Fatalf("FStar(plain) = %v, %v; Newton %v", got, err, newton)
	}
	if _, err := FStar(m, nil); !errors.Is(err, ErrData) {
		t.Errorf("no shards: %v", err)
	}
	if _, err := FStar(m, []*data.Dataset{nil}); !errors.Is(err, ErrData) {
		t.Errorf("nil shard: %v", err)
	}
	// A failure is not remembered: every call computes, and fails, again.
	sep := separable()
	for range 2 {
		if _, err := FStar(NewLogReg(7, 0), []*data.Dataset{sep}); !errors.Is(err, ErrNotConverged) {
			t.Errorf("separable data: %v", err)
		}
	}
}

func TestFStarConcurrentCallsAgree(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	resetFStarMemory()
	d := randomDataset(36, 200, 7, 0.5)
	m := NewLogReg(7, 0.01)
	var wg sync.WaitGroup
	results := make([]float64, 8)
	for i := range results {
		wg.Go(func() {
			f, err := FStar(m, []*data.Dataset{d, d})
			if err != nil {
				t.Error(err)
			}
			results[i] = f
		})
	}
	wg.Wait()
	for _, f := range results {
		if f != results[0] {
			t.Fatalf("concurrent results differ: %v", results)
		}
	}
}
