package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/byzpp/byzpp/algo/data"
)

// CacheDirEnv names the environment variable that overrides FStar's cache directory
// (default os.UserCacheDir()/byzpp).
const CacheDirEnv = "BYZPP_CACHE_DIR"

// fstarVersion is part of every cache key: bump it whenever Loss or OptimalLoss changes what they
// compute, so stale cache files are ignored.
const fstarVersion = 1

// FStar returns OptimalLoss's f* for m and shards, cached in memory and in a JSON file under the cache
// directory. The key is the model's Spec (name, features, hidden width, l2 bits), its dimension and the
// Hash of every shard in order (a pointer listed several times is hashed once). Concurrent calls for
// the same key compute once. If the directory cannot be read or written, FStar just computes. Models
// without a Spec method are computed every time.
func FStar(m Model, shards []*data.Dataset) (float64, error) {
	if _, err := newObjective(m, shards); err != nil {
		return 0, err
	}
	spec, ok := m.(interface{ Spec() Spec })
	if !ok {
		f, _, err := OptimalLoss(m, shards)
		return f, err
	}
	key := fstarKey(spec.Spec(), m.Dim(), shards)

	fstarMu.Lock()
	fl, found := fstarMem[key]
	if !found {
		fl = &fstarFlight{done: make(chan struct{})}
		fstarMem[key] = fl
	}
	fstarMu.Unlock()
	if found {
		<-fl.done
		return fl.f, fl.err
	}

	fl.f, fl.err = fstarCompute(m, shards, key)
	if fl.err != nil {
		fstarMu.Lock()
		delete(fstarMem, key) // let a later call retry
		fstarMu.Unlock()
	}
	close(fl.done)
	return fl.f, fl.err
}

// fstarFlight is one computation of f*, shared by every caller asking for its key.
type fstarFlight struct {
	done chan struct{}
	f    float64
	err  error
}

var (
	fstarMu  sync.Mutex
	fstarMem = map[string]*fstarFlight{}
)

// fstarKey describes everything f* depends on.
func fstarKey(s Spec, dim int, shards []*data.Dataset) string {
	hashes := map[*data.Dataset]string{}
	names := make([]string, len(shards))
	for i, d := range shards {
		h, ok := hashes[d]
		if !ok {
			sum := d.Hash()
			h = hex.EncodeToString(sum[:])
			hashes[d] = h
		}
		names[i] = h
	}
	return fmt.Sprintf("byzpp f* v%d model=%s features=%d hidden=%d dim=%d l2=%016x shards=%s",
		fstarVersion, s.Name, s.Features, s.Hidden, dim, math.Float64bits(s.L2), strings.Join(names, ","))
}

// fstarFile is the JSON stored per key. The full key is stored too, so a file is only trusted for the
// exact key it was written for.
type fstarFile struct {
	Key   string  `json:"key"`
	FStar float64 `json:"fstar"`
}

func fstarCompute(m Model, shards []*data.Dataset, key string) (float64, error) {
	path, err := fstarPath(key)
	if err != nil {
		slog.Debug("f* cache unavailable", "err", err)
		f, _, err := OptimalLoss(m, shards)
		return f, err
	}
	if f, ok := readFStar(path, key); ok {
		return f, nil
	}
	f, _, err := OptimalLoss(m, shards)
	if err != nil {
		return 0, err
	}
	if err := writeFStar(path, fstarFile{Key: key, FStar: f}); err != nil {
		slog.Debug("f* cache not written", "path", path, "err", err)
	}
	return f, nil
}

// fstarPath returns the cache file for key.
func fstarPath(key string) (string, error) {
	dir := os.Getenv(CacheDirEnv)
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(base, "byzpp")
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, "fstar-"+hex.EncodeToString(sum[:16])+".json"), nil
}

// readFStar returns the cached value if path holds a well-formed entry for exactly this key.
func readFStar(path, key string) (float64, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	var entry fstarFile
	if err := json.Unmarshal(raw, &entry); err != nil || entry.Key != key ||
		math.IsNaN(entry.FStar) || math.IsInf(entry.FStar, 0) {
		slog.Debug("ignoring f* cache file", "path", path, "err", err)
		return 0, false
	}
	return entry.FStar, true
}

// writeFStar stores entry atomically (temporary file, then rename), so a reader never sees half a file.
func writeFStar(path string, entry fstarFile) error {
	raw, err := json.MarshalIndent(entry, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".fstar-*.tmp")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(append(raw, '\n'))
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}
