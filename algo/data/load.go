package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"os"
	"slices"
)

// builtinFS holds the data sets shipped inside the binary, gzip-compressed ("gzip -9 -n"), so a peer
// can join the Figure 1 experiment without fetching anything.
//
//go:embed builtin/*.gz
var builtinFS embed.FS

// builtinNames lists the embedded data sets; each is builtin/<name>.gz. a9a.t is a9a's held-out test
// split (16,281 rows; LIBSVM's copy, sha256 1f448a15… of the plain file, see ../shared/data/SOURCES.md).
var builtinNames = []string{"a9a", "a9a.t"}

// builtinTests pairs an embedded training set with its embedded test set.
var builtinTests = map[string]string{"a9a": "a9a.t"}

// TestSetOf returns the name of the embedded test set that goes with an embedded training set ("a9a" →
// "a9a.t"), or false when there is none.
func TestSetOf(name string) (string, bool) {
	t, ok := builtinTests[name]
	return t, ok
}

// Builtin returns the names of the embedded data sets.
func Builtin() []string { return slices.Clone(builtinNames) }

// Load reads a data set: the name of an embedded one ("a9a"), or else a path to a LIBSVM file, plain or
// gzip-compressed (recognised by its magic bytes, whatever the file is called). Every call returns a
// fresh Dataset, so callers may normalise it in place.
func Load(spec string, opts ReadOptions) (*Dataset, error) {
	if slices.Contains(builtinNames, spec) {
		if d, ok, err := loadCompact(spec, opts); ok {
			return d, err
		}
		f, err := builtinFS.Open("builtin/" + spec + ".gz")
		if err != nil {
			return nil, fmt.Errorf("opening embedded data set %s: %w", spec, err)
		}
		defer f.Close()
		return read(f, spec, opts)
	}
	f, err := os.Open(spec)
	if err != nil {
		return nil, fmt.Errorf("opening data set: %w", err)
	}
	defer f.Close()
	return read(f, spec, opts)
}

// gzipMagic starts every gzip stream (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// read parses r as LIBSVM text, decompressing it first if it is gzip.
func read(r io.Reader, name string, opts ReadOptions) (*Dataset, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(len(gzipMagic))
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if !bytes.Equal(head, gzipMagic) {
		return ReadLIBSVM(br, name, opts)
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: bad gzip header: %w", ErrFormat, name, err)
	}
	defer zr.Close()
	return ReadLIBSVM(zr, name, opts)
}
