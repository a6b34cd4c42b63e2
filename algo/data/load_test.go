package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// sharedData returns the path of a file in the project's read-only data directory (../shared/data
// beside the repository), skipping the test when it is absent.
func sharedData(t testing.TB, name string) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(here), "..", "..", "..", "shared", "data", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data file %s not available: %v", name, err)
	}
	return p
}

func countLabels(d *Dataset) (zeros, ones int) {
	for _, y := range d.Labels {
		if y == 0 {
			zeros++
		} else {
			ones++
		}
	}
	return zeros, ones
}

func TestBuiltinA9A(t *testing.T) {
	if !slices.Equal(Builtin(), []string{"a9a", "a9a.t"}) {
		t.Fatalf("Builtin() = %v", Builtin())
	}
	d, err := Load("a9a", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	zeros, ones := countLabels(d)
	if d.Name != "a9a" || d.Rows() != 32561 || d.Features != 123 || d.NNZ() != 451592 || zeros != 24720 || ones != 7841 {
		t.Fatalf("a9a: name %q, %d rows, %d features, %d nnz, labels %d×0 / %d×1",
			d.Name, d.Rows(), d.Features, d.NNZ(), zeros, ones)
	}
	for _, v := range d.Values {
		if v != 1 {
			t.Fatalf("a9a has value %v (all are 1)", v)
		}
	}
	again, _ := Load("a9a", ReadOptions{})
	again.NormalizeRows()
	if d.Values[0] != 1 {
		t.Fatal("Load returned shared storage")
	}
}

// TestBuiltinA9AT: the embedded test split has LIBSVM's counts, lines up with a9a's columns when
// loaded with Features 123, and is what TestSetOf pairs with a9a.
func TestBuiltinA9AT(t *testing.T) {
	name, ok := TestSetOf("a9a")
	if !ok || name != "a9a.t" {
		t.Fatalf("TestSetOf(a9a) = %q, %v", name, ok)
	}
	if _, ok := TestSetOf("w8a"); ok {
		t.Fatal("TestSetOf(w8a) found a test set")
	}
	d, err := Load("a9a.t", ReadOptions{Features: 123})
	if err != nil {
		t.Fatal(err)
	}
	zeros, ones := countLabels(d)
	if d.Rows() != 16281 || d.Features != 123 || d.NNZ() != 225731 || zeros != 12435 || ones != 3846 {
		t.Fatalf("a9a.t: %d rows, %d features, %d nnz, labels %d×0 / %d×1", d.Rows(), d.Features, d.NNZ(), zeros, ones)
	}
	if path := sharedData(t, "a9a.t"); path != "" {
		file, err := Load(path, ReadOptions{Features: 123})
		if err != nil {
			t.Fatal(err)
		}
		if file.Hash() != d.Hash() {
			t.Fatal("embedded a9a.t differs from the shared file")
		}
	}
}

func TestBuiltinMatchesSharedFile(t *testing.T) {
	path := sharedData(t, "a9a")
	file, err := Load(path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	embedded, _ := Load("a9a", ReadOptions{})
	if file.Hash() != embedded.Hash() {
		t.Fatal("embedded a9a differs from the shared file")
	}
}

func TestLoadSharedFiles(t *testing.T) {
	tests := []struct {
		file                    string
		features                int
		rows, feats, nnz, zeros int
	}{
		{"a9a.t", 123, 16281, 123, 225731, 12435},
		{"a9a.t", 0, 16281, 122, 225731, 12435},
		{"w8a", 0, 49749, 300, 579586, 48270},
		{"phishing", 0, 11055, 68, 331650, 4898},
		{"mushrooms", 0, 8124, 112, 170604, 3916},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			d, err := Load(sharedData(t, tc.file), ReadOptions{Features: tc.features})
			if err != nil {
				t.Fatal(err)
			}
			zeros, _ := countLabels(d)
			if d.Rows() != tc.rows || d.Features != tc.feats || d.NNZ() != tc.nnz || zeros != tc.zeros {
				t.Fatalf("%d rows, %d features, %d nnz, %d zeros", d.Rows(), d.Features, d.NNZ(), zeros)
			}
		})
	}
}

func TestLoadGzipFileAndErrors(t *testing.T) {
	dir := t.TempDir()
	text := "+1 1:1 4:2\n-1 2:3\n"
	plain := filepath.Join(dir, "plain.txt")
	zipped := filepath.Join(dir, "zipped.bin") // gzip recognised by content, not by name
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(text))
	zw.Close()
	if err := os.WriteFile(plain, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(zipped, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := Load(plain, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(zipped, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash() != b.Hash() || a.Rows() != 2 {
		t.Fatal("gzip and plain copies differ")
	}

	if _, err := Load(filepath.Join(dir, "missing"), ReadOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	broken := filepath.Join(dir, "broken.gz")
	os.WriteFile(broken, append([]byte{0x1f, 0x8b}, "not really gzip"...), 0o600)
	if _, err := Load(broken, ReadOptions{}); err == nil {
		t.Error("broken gzip accepted")
	}
	truncated := filepath.Join(dir, "truncated.gz")
	os.WriteFile(truncated, buf.Bytes()[:buf.Len()-6], 0o600)
	if _, err := Load(truncated, ReadOptions{}); err == nil {
		t.Error("truncated gzip accepted")
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if _, err := Load(empty, ReadOptions{}); !errors.Is(err, ErrFormat) {
		t.Errorf("empty file: %v", err)
	}
}

func BenchmarkLoadA9A(b *testing.B) {
	for b.Loop() {
		if _, err := Load("a9a", ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashA9A(b *testing.B) {
	d, err := Load("a9a", ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		d.Hash()
	}
}
