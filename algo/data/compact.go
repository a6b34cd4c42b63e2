package data

import (
	"bytes"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
)

// The built-in data sets are also embedded in a compact binary CSR form, builtin/<name>.csr, which Load
// decodes in about a millisecond where parsing the gzip-compressed LIBSVM text takes ~100 ms (a9a). The
// .csr files are generated from the .gz text by `go generate` (TestCompactBuiltin with -update) and the
// same test checks, on every run, that each one still decodes to exactly the Dataset the text parses to
// (same Hash, name and feature count) and that re-encoding the text reproduces it byte for byte. The
// text stays the source of truth; the compact form is a cache of its parse.
//
//go:generate go test -run ^TestCompactBuiltin$ -update-compact
//go:embed builtin/*.csr
var compactFS embed.FS

// compactMagic starts every .csr file; the last byte is the format version.
const compactMagic = "byzpp/csr\x01"

// Format after the magic, every integer an unsigned varint (encoding/binary):
//
//	features rows nnz nvalues
//	nvalues × 8 bytes: the distinct values, float64 bits little-endian, in order of first use
//	⌈rows/8⌉ bytes: labels, bit r%8 of byte r/8 set for label 1
//	rows × nonzero count of the row
//	nnz × column: the first of a row as is, the others as the gap to the previous column minus 1
//	nnz × value number (only when nvalues > 1)
//
// and nothing after.

// encodeCompact returns d in the .csr form. d must be a valid Dataset (Validate), as ReadLIBSVM returns.
func encodeCompact(d *Dataset) []byte {
	var values []uint64
	valueID := map[uint64]int{}
	ids := make([]int, d.NNZ())
	for k, v := range d.Values {
		b := math.Float64bits(v)
		id, ok := valueID[b]
		if !ok {
			id = len(values)
			valueID[b] = id
			values = append(values, b)
		}
		ids[k] = id
	}
	out := []byte(compactMagic)
	for _, n := range []int{d.Features, d.Rows(), d.NNZ(), len(values)} {
		out = binary.AppendUvarint(out, uint64(n))
	}
	for _, b := range values {
		out = binary.LittleEndian.AppendUint64(out, b)
	}
	labels := make([]byte, (d.Rows()+7)/8)
	for r, y := range d.Labels {
		if y == 1 {
			labels[r/8] |= 1 << (r % 8)
		}
	}
	out = append(out, labels...)
	for r := range d.Labels {
		out = binary.AppendUvarint(out, uint64(d.Indptr[r+1]-d.Indptr[r]))
	}
	for r := range d.Labels {
		prev := int32(-1)
		for _, j := range d.Indices[d.Indptr[r]:d.Indptr[r+1]] {
			out = binary.AppendUvarint(out, uint64(j-prev-1))
			prev = j
		}
	}
	if len(values) > 1 {
		for _, id := range ids {
			out = binary.AppendUvarint(out, uint64(id))
		}
	}
	return out
}

var errCompact = errors.New("corrupt compact data set")

// decodeCompact is the inverse of encodeCompact. It checks everything a Dataset must satisfy (Validate)
// as it goes, so a corrupt file is an error, never a panic or an inconsistent Dataset.
func decodeCompact(raw []byte, name string) (*Dataset, error) {
	if !bytes.HasPrefix(raw, []byte(compactMagic)) {
		return nil, fmt.Errorf("%w: %s: bad magic", errCompact, name)
	}
	b := raw[len(compactMagic):]
	bad := func(what string) error { return fmt.Errorf("%w: %s: %s", errCompact, name, what) }
	uvarint := func() (int, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > math.MaxInt32 {
			return 0, false
		}
		b = b[n:]
		return int(v), true
	}
	var head [4]int
	for i := range head {
		v, ok := uvarint()
		if !ok {
			return nil, bad("bad header")
		}
		head[i] = v
	}
	features, rows, nnz, nvalues := head[0], head[1], head[2], head[3]
	if rows < 1 || nvalues > nnz || (nnz > 0 && nvalues < 1) || len(b) < 8*nvalues+(rows+7)/8+rows+nnz {
		return nil, bad("inconsistent header")
	}
	values := make([]float64, nvalues)
	for i := range values {
		values[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		if math.IsNaN(values[i]) || math.IsInf(values[i], 0) || values[i] == 0 {
			return nil, bad("non-finite or zero value")
		}
	}
	b = b[8*nvalues:]
	d := &Dataset{
		Name: name, Features: features,
		Indptr: make([]int, rows+1), Indices: make([]int32, nnz), Values: make([]float64, nnz),
		Labels: make([]float64, rows),
	}
	for r := range d.Labels {
		d.Labels[r] = float64(b[r/8] >> (r % 8) & 1)
	}
	b = b[(rows+7)/8:]
	for r := range rows {
		n, ok := uvarint()
		if !ok || n > nnz-d.Indptr[r] {
			return nil, bad("bad row length")
		}
		d.Indptr[r+1] = d.Indptr[r] + n
	}
	if d.Indptr[rows] != nnz {
		return nil, bad("row lengths do not add up to the nonzeros")
	}
	for r := range rows {
		prev := -1
		for k := d.Indptr[r]; k < d.Indptr[r+1]; k++ {
			// Decode inline: this loop is the whole cost of loading.
			var gap int
			if len(b) > 0 && b[0] < 0x80 {
				gap, b = int(b[0]), b[1:]
			} else if v, ok := uvarint(); ok {
				gap = v
			} else {
				return nil, bad("bad column")
			}
			j := prev + 1 + gap
			if j >= features {
				return nil, bad("column beyond the feature count")
			}
			d.Indices[k] = int32(j)
			prev = j
		}
	}
	if nvalues == 1 {
		for k := range d.Values {
			d.Values[k] = values[0]
		}
	} else {
		for k := range d.Values {
			id, ok := uvarint()
			if !ok || id >= nvalues {
				return nil, bad("bad value number")
			}
			d.Values[k] = values[id]
		}
	}
	if len(b) != 0 {
		return nil, bad("trailing bytes")
	}
	return d, nil
}

// loadCompact returns the built-in data set name from its compact form when that gives exactly what
// parsing its text with opts would: ok is false when there is no compact form or opts ask for something
// only the text reader does (a limit, or a feature count below the data's, which is an error it
// reports with the line).
func loadCompact(name string, opts ReadOptions) (d *Dataset, ok bool, err error) {
	if opts != (ReadOptions{Features: opts.Features}) {
		return nil, false, nil
	}
	raw, err := compactFS.ReadFile("builtin/" + name + ".csr")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("opening embedded data set %s: %w", name, err)
	}
	d, err = decodeCompact(raw, name)
	if err != nil {
		return nil, true, err
	}
	switch {
	case opts.Features == 0:
	case opts.Features < d.Features || opts.Features > DefaultMaxFeatures:
		return nil, false, nil
	default:
		d.Features = opts.Features
	}
	return d, true, nil
}
