package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Sentinel errors; callers branch on them with errors.Is.
var (
	// ErrFormat: the input is not a valid LIBSVM file. Parse errors are *ParseError values wrapping it.
	ErrFormat = errors.New("data: malformed LIBSVM input")
	// ErrLimit: the input exceeds a ReadOptions limit (rows, features, line length, nonzeros).
	ErrLimit = errors.New("data: input exceeds a limit")
	// ErrOptions: the ReadOptions themselves are invalid (negative values).
	ErrOptions = errors.New("data: invalid read options")
)

// Default limits, used when the corresponding ReadOptions field is 0. They are far above any LIBSVM
// data set this program trains on and far below what would exhaust a machine.
const (
	DefaultMaxRows      = 10_000_000
	DefaultMaxFeatures  = 1 << 24
	DefaultMaxLineBytes = 1 << 20
	DefaultMaxNNZ       = 1 << 28
)

// ReadOptions controls ReadLIBSVM. The zero value infers the feature count and applies the default limits.
type ReadOptions struct {
	// Features fixes the column count d: 0 infers it as the largest index seen; otherwise an index above
	// it is an error (a9a.t never uses column 123, so it needs Features 123 to line up with a9a).
	Features int
	// Limits against absurd input; 0 means the Default* value above.
	MaxRows      int
	MaxFeatures  int
	MaxLineBytes int
	MaxNNZ       int
}

// withDefaults validates the options and fills in default limits.
func (o ReadOptions) withDefaults() (ReadOptions, error) {
	if o.Features < 0 || o.MaxRows < 0 || o.MaxFeatures < 0 || o.MaxLineBytes < 0 || o.MaxNNZ < 0 {
		return o, fmt.Errorf("%w: negative value in %+v", ErrOptions, o)
	}
	if o.MaxRows == 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.MaxFeatures == 0 {
		o.MaxFeatures = DefaultMaxFeatures
	}
	// Columns are stored as int32.
	o.MaxFeatures = min(o.MaxFeatures, math.MaxInt32)
	if o.MaxLineBytes == 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.MaxNNZ == 0 {
		o.MaxNNZ = DefaultMaxNNZ
	}
	if o.Features > o.MaxFeatures {
		return o, fmt.Errorf("%w: %d features requested, limit %d", ErrLimit, o.Features, o.MaxFeatures)
	}
	return o, nil
}

// ParseError locates a problem in LIBSVM input. It prints as "name:line: message" and wraps ErrFormat,
// or ErrLimit when a limit was exceeded.
type ParseError struct {
	Name string // the data set's name as given to ReadLIBSVM
	Line int    // 1-based line number
	Msg  string
	Err  error // ErrFormat or ErrLimit; nil means ErrFormat
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg) }

// Unwrap returns the sentinel the error belongs to.
func (e *ParseError) Unwrap() error {
	if e.Err == nil {
		return ErrFormat
	}
	return e.Err
}

// ReadLIBSVM parses LIBSVM text ("label idx:val idx:val ...", 1-based strictly increasing indices) into a
// Dataset named name.
//
// It tolerates blank lines, trailing whitespace, CRLF line ends, "# comments" and "qid:n" tokens, and
// drops explicit zero values (after checking their index, so "123:0" still widens an inferred feature
// count, as some copies of a9a.t use it to). Labels are mapped to {0, 1}: with two distinct label values
// the smaller becomes 0 and the larger 1; with one, a value ≤ 0 becomes 0 and a positive one 1; a third
// distinct value is an error. An input without any data line is an error.
func ReadLIBSVM(r io.Reader, name string, opts ReadOptions) (*Dataset, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p := parser{name: name, opts: opts, d: &Dataset{Name: name, Indptr: []int{0}}}
	sc := bufio.NewScanner(r)
	// The scanner's limit counts the line end too; the exact line limit is checked in parseLine.
	sc.Buffer(make([]byte, 0, min(64<<10, opts.MaxLineBytes+2)), opts.MaxLineBytes+2)
	for sc.Scan() {
		p.line++
		if err := p.parseLine(sc.Bytes()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			p.line++ // the scanner gave up on the line after the last one it returned
			return nil, p.limitf("line longer than %d bytes", opts.MaxLineBytes)
		}
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return p.finish()
}

// parser holds the state of one ReadLIBSVM call.
type parser struct {
	name     string
	opts     ReadOptions
	d        *Dataset
	line     int
	maxIndex int       // largest 1-based index seen
	raw      []float64 // labels as written, mapped to {0, 1} at the end
	distinct []float64 // distinct raw labels seen so far (at most two)
}

func (p *parser) errorf(format string, args ...any) error {
	return &ParseError{Name: p.name, Line: p.line, Msg: fmt.Sprintf(format, args...), Err: ErrFormat}
}

func (p *parser) limitf(format string, args ...any) error {
	return &ParseError{Name: p.name, Line: p.line, Msg: fmt.Sprintf(format, args...), Err: ErrLimit}
}

// parseLine appends the row on line (without its line end) to the dataset, if the line holds one.
func (p *parser) parseLine(line []byte) error {
	if len(line) > p.opts.MaxLineBytes {
		return p.limitf("line longer than %d bytes", p.opts.MaxLineBytes)
	}
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	tok, rest := nextToken(line)
	if tok == nil {
		return nil // blank or comment-only line
	}
	if p.d.Rows() >= p.opts.MaxRows {
		return p.limitf("more than %d rows", p.opts.MaxRows)
	}
	label, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || math.IsNaN(label) || math.IsInf(label, 0) {
		return p.errorf("label %q is not a finite number", truncate(tok))
	}
	if err := p.noteLabel(label); err != nil {
		return err
	}
	prev := 0
	for {
		tok, rest = nextToken(rest)
		if tok == nil {
			break
		}
		colon := bytes.IndexByte(tok, ':')
		if colon < 0 {
			return p.errorf("missing ':' in %q (want index:value)", truncate(tok))
		}
		key, val := tok[:colon], tok[colon+1:]
		if string(key) == "qid" {
			continue
		}
		idx, ok := parseIndex(key)
		if !ok {
			return p.errorf("index %q is not a positive integer", truncate(key))
		}
		if idx == 0 {
			return p.errorf("index 0 is not allowed (LIBSVM indices start at 1)")
		}
		if idx <= prev {
			return p.errorf("index %d after %d: indices must be strictly increasing", idx, prev)
		}
		if p.opts.Features > 0 && idx > p.opts.Features {
			return p.errorf("index %d is above the declared feature count %d", idx, p.opts.Features)
		}
		if idx > p.opts.MaxFeatures {
			return p.limitf("index %d is above the feature limit %d", idx, p.opts.MaxFeatures)
		}
		v, err := strconv.ParseFloat(string(val), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return p.errorf("value %q of index %d is not a finite number", truncate(val), idx)
		}
		prev = idx
		p.maxIndex = max(p.maxIndex, idx)
		if v == 0 {
			continue
		}
		if p.d.NNZ() >= p.opts.MaxNNZ {
			return p.limitf("more than %d nonzeros", p.opts.MaxNNZ)
		}
		p.d.Indices = append(p.d.Indices, int32(idx-1))
		p.d.Values = append(p.d.Values, v)
	}
	p.raw = append(p.raw, label)
	p.d.Labels = append(p.d.Labels, 0)
	p.d.Indptr = append(p.d.Indptr, p.d.NNZ())
	return nil
}

// noteLabel records a label value, failing on the third distinct one.
func (p *parser) noteLabel(label float64) error {
	for _, v := range p.distinct {
		if v == label {
			return nil
		}
	}
	if len(p.distinct) == 2 {
		return p.errorf("third distinct label %v (after %v and %v): only binary classification is supported",
			label, p.distinct[0], p.distinct[1])
	}
	p.distinct = append(p.distinct, label)
	return nil
}

// finish maps the labels to {0, 1} and fixes the feature count.
func (p *parser) finish() (*Dataset, error) {
	d := p.d
	if d.Rows() == 0 {
		return nil, &ParseError{Name: p.name, Line: p.line, Msg: "no data rows", Err: ErrFormat}
	}
	one := func(v float64) bool { return v > 0 } // a single label value: −1/0 → 0, positive → 1
	if len(p.distinct) == 2 {
		hi := max(p.distinct[0], p.distinct[1])
		one = func(v float64) bool { return v == hi }
	}
	for r, v := range p.raw {
		if one(v) {
			d.Labels[r] = 1
		}
	}
	d.Features = p.opts.Features
	if d.Features == 0 {
		d.Features = p.maxIndex
	}
	return d, nil
}

// nextToken splits off the first whitespace-separated token of b; tok is nil when none is left.
func nextToken(b []byte) (tok, rest []byte) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == len(b) {
		return nil, nil
	}
	j := i
	for j < len(b) && !isSpace(b[j]) {
		j++
	}
	return b[i:j], b[j:]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

// parseIndex parses a non-negative decimal integer without sign, saturating far above any limit so
// that a huge index reports as a limit error rather than overflowing.
func parseIndex(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < math.MaxInt32 {
			n = n*10 + int(c-'0')
		}
	}
	return min(n, math.MaxInt32), true
}

// truncate shortens a token for an error message, so a hostile megabyte token is not echoed back.
func truncate(b []byte) string {
	const maxLen = 40
	if len(b) > maxLen {
		return string(b[:maxLen]) + "..."
	}
	return string(b)
}
