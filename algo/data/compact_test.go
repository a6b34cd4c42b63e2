package data

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var updateCompact = flag.Bool("update-compact", false, "rewrite builtin/*.csr from builtin/*.gz (go generate)")

// parseBuiltinText parses the LIBSVM text of a built-in data set, bypassing its compact form.
func parseBuiltinText(t testing.TB, name string, opts ReadOptions) (*Dataset, error) {
	t.Helper()
	f, err := builtinFS.Open("builtin/" + name + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return read(f, name, opts)
}

// TestCompactBuiltin: every built-in data set has a compact form, re-encoding its parsed text gives the
// embedded bytes exactly, and Load (which uses the compact form) returns exactly the parsed text's
// Dataset. With -update-compact (go generate) it rewrites the .csr files instead.
func TestCompactBuiltin(t *testing.T) {
	for _, name := range Builtin() {
		text, err := parseBuiltinText(t, name, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := encodeCompact(text)
		path := filepath.Join("builtin", name+".csr")
		if *updateCompact {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := compactFS.ReadFile("builtin/" + name + ".csr")
		if err != nil {
			t.Fatalf("%s: %v (run go generate ./algo/data)", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: builtin/%s.csr is stale: it is not the encoding of builtin/%s.gz (run go generate ./algo/data)", name, name, name)
		}
		loaded, err := Load(name, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sameDataset(t, name, loaded, text)
	}
}

func sameDataset(t *testing.T, what string, got, want *Dataset) {
	t.Helper()
	if err := got.Validate(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got.Name != want.Name || got.Features != want.Features || got.Hash() != want.Hash() ||
		!slices.Equal(got.Indptr, want.Indptr) || !slices.Equal(got.Indices, want.Indices) ||
		!slices.Equal(got.Values, want.Values) || !slices.Equal(got.Labels, want.Labels) {
		t.Fatalf("%s: compact form gives %s/%d features/%d rows/%d nnz, text %s/%d/%d/%d (or different numbers)",
			what, got.Name, got.Features, got.Rows(), got.NNZ(), want.Name, want.Features, want.Rows(), want.NNZ())
	}
}

// TestCompactOptions: Load with options takes the compact form only when the text reader would return
// the same thing, and otherwise gives the text reader's result or error.
func TestCompactOptions(t *testing.T) {
	for _, opts := range []ReadOptions{{Features: 123}, {Features: 200}, {Features: 122}, {Features: -1}, {MaxRows: 10}, {MaxNNZ: 100000}, {Features: 1 << 25}} {
		want, werr := parseBuiltinText(t, "a9a", opts)
		got, gerr := Load("a9a", opts)
		if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
			t.Fatalf("%+v: Load error %v, text reader %v", opts, gerr, werr)
		}
		if werr == nil {
			sameDataset(t, "options", got, want)
		}
	}
}

// TestCompactRoundTrip covers what a9a does not: several distinct values, a row without nonzeros,
// large column gaps, label 0 and 1.
func TestCompactRoundTrip(t *testing.T) {
	d := &Dataset{Name: "x", Features: 1000,
		Indptr: []int{0, 3, 3, 5}, Indices: []int32{0, 7, 999, 200, 201}, Values: []float64{1, -2.5, 1, 1e-300, 3},
		Labels: []float64{1, 0, 1}}
	got, err := decodeCompact(encodeCompact(d), "x")
	if err != nil {
		t.Fatal(err)
	}
	sameDataset(t, "round trip", got, d)
}

// TestCompactCorrupt: truncations and flipped bytes give errors, never panics or invalid Datasets.
func TestCompactCorrupt(t *testing.T) {
	d := &Dataset{Name: "x", Features: 300,
		Indptr: []int{0, 3, 3, 5}, Indices: []int32{0, 7, 299, 200, 201}, Values: []float64{1, -2.5, 1, 1e-300, 3},
		Labels: []float64{1, 0, 1}}
	good := encodeCompact(d)
	for n := range len(good) {
		if _, err := decodeCompact(good[:n], "x"); !errors.Is(err, errCompact) {
			t.Fatalf("truncated to %d bytes: err = %v", n, err)
		}
	}
	for i := range good {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			b := slices.Clone(good)
			b[i] ^= x
			if got, err := decodeCompact(b, "x"); err == nil {
				if verr := got.Validate(); verr != nil {
					t.Fatalf("byte %d ^ %#x: decoded an invalid dataset: %v", i, x, verr)
				}
			}
		}
	}
}

// BenchmarkLoadA9AText parses the LIBSVM text, what Load did before the compact form (BenchmarkLoadA9A).
func BenchmarkLoadA9AText(b *testing.B) {
	for b.Loop() {
		if _, err := parseBuiltinText(b, "a9a", ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
