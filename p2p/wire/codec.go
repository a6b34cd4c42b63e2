package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// This file holds the strict msgpack primitives every message is built from. Decoding accepts exactly
// one encoding per value — the shortest one, which is what the encoder writes — so a successfully decoded
// message re-encodes to the identical bytes. That makes an envelope's digest a property of its content:
// nobody can relay a signed message under a second digest by re-encoding it.

// chunkSize is how many bytes of a float or index list are converted at a time, so a large vector never
// needs a second full-size buffer.
const chunkSize = 1 << 15

// decoder wraps a msgpack.Decoder with the limits in force and, when known, the number of unread input
// bytes. Every length is checked against both before anything is allocated.
type decoder struct {
	d   *msgpack.Decoder
	lim *Limits
	// rem reports the bytes still unread; nil when the source cannot tell (then only caps apply).
	rem interface{ Len() int }
	// src is the whole input and at its reader when Unmarshal decodes a byte slice: a large field
	// may then be a sub-slice of the input instead of a copy (sharedBytes). nil otherwise.
	src []byte
	at  *bytes.Reader
}

func newDecoder(d *msgpack.Decoder, lim *Limits) *decoder {
	r := &decoder{d: d, lim: lim}
	if l, ok := d.Buffered().(interface{ Len() int }); ok {
		r.rem = l
	}
	return r
}

// readErr converts a read failure into an ErrMalformed error naming the field.
func readErr(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: truncated", ErrMalformed, what)
	}
	return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
}

func (r *decoder) peek(what string) (byte, error) {
	c, err := r.d.PeekCode()
	if err != nil {
		return 0, readErr(what, err)
	}
	return c, nil
}

// uintCode is the code the encoder uses for v (msgpack.Encoder.EncodeUint).
func uintCode(v uint64) byte {
	switch {
	case v <= math.MaxInt8:
		return byte(v)
	case v <= math.MaxUint8:
		return msgpcode.Uint8
	case v <= math.MaxUint16:
		return msgpcode.Uint16
	case v <= math.MaxUint32:
		return msgpcode.Uint32
	}
	return msgpcode.Uint64
}

// uint reads an unsigned integer in its shortest encoding and checks it is at most max.
func (r *decoder) uint(max uint64, what string) (uint64, error) {
	c, err := r.peek(what)
	if err != nil {
		return 0, err
	}
	if !(c <= msgpcode.PosFixedNumHigh || (c >= msgpcode.Uint8 && c <= msgpcode.Uint64)) {
		return 0, fmt.Errorf("%w: %s: code %#x is not an unsigned integer", ErrMalformed, what, c)
	}
	v, err := r.d.DecodeUint64()
	if err != nil {
		return 0, readErr(what, err)
	}
	if uintCode(v) != c {
		return 0, fmt.Errorf("%w: %s: non-canonical integer encoding", ErrMalformed, what)
	}
	if v > max {
		return 0, fmt.Errorf("%w: %s = %d exceeds %d", ErrEnum, what, v, max)
	}
	return v, nil
}

// intCode is the code the encoder uses for v (msgpack.Encoder.EncodeInt).
func intCode(v int64) byte {
	switch {
	case v >= 0:
		return uintCode(uint64(v))
	case v >= -32:
		return byte(v)
	case v >= math.MinInt8:
		return msgpcode.Int8
	case v >= math.MinInt16:
		return msgpcode.Int16
	case v >= math.MinInt32:
		return msgpcode.Int32
	}
	return msgpcode.Int64
}

// int reads a signed integer in its shortest encoding and checks lo <= v <= hi.
func (r *decoder) int(lo, hi int64, what string) (int64, error) {
	c, err := r.peek(what)
	if err != nil {
		return 0, err
	}
	isInt := c <= msgpcode.PosFixedNumHigh || c >= msgpcode.NegFixedNumLow ||
		(c >= msgpcode.Uint8 && c <= msgpcode.Uint64) || (c >= msgpcode.Int8 && c <= msgpcode.Int64)
	if !isInt {
		return 0, fmt.Errorf("%w: %s: code %#x is not an integer", ErrMalformed, what, c)
	}
	if c == msgpcode.Uint64 {
		// DecodeInt64 would wrap values above MaxInt64 into negatives; no field needs them.
		return 0, fmt.Errorf("%w: %s: integer out of range", ErrEnum, what)
	}
	v, err := r.d.DecodeInt64()
	if err != nil {
		return 0, readErr(what, err)
	}
	if intCode(v) != c {
		return 0, fmt.Errorf("%w: %s: non-canonical integer encoding", ErrMalformed, what)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%w: %s = %d outside [%d, %d]", ErrEnum, what, v, lo, hi)
	}
	return v, nil
}

func (r *decoder) bool(what string) (bool, error) {
	c, err := r.peek(what)
	if err != nil {
		return false, err
	}
	if c != msgpcode.True && c != msgpcode.False {
		return false, fmt.Errorf("%w: %s: code %#x is not a bool", ErrMalformed, what, c)
	}
	v, err := r.d.DecodeBool()
	if err != nil {
		return false, readErr(what, err)
	}
	return v, nil
}

// remaining returns the unread input length, or -1 when unknown.
func (r *decoder) remaining() int {
	if r.rem == nil {
		return -1
	}
	return r.rem.Len()
}

// fitsInput checks that n items of at least minSize bytes each can still be present in the input.
func (r *decoder) fitsInput(n, minSize int, what string) error {
	if rem := r.remaining(); rem >= 0 && n > rem/minSize {
		return fmt.Errorf("%w: %s claims %d items but only %d bytes remain", ErrTooLarge, what, n, rem)
	}
	return nil
}

func arrayCode(n int) byte {
	switch {
	case n < 16:
		return msgpcode.FixedArrayLow | byte(n)
	case n <= math.MaxUint16:
		return msgpcode.Array16
	}
	return msgpcode.Array32
}

// arrayLen reads an array header in its shortest form and checks its length against max and the input.
func (r *decoder) arrayLen(max int, what string) (int, error) {
	c, err := r.peek(what)
	if err != nil {
		return 0, err
	}
	if !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		return 0, fmt.Errorf("%w: %s: code %#x is not an array", ErrMalformed, what, c)
	}
	n, err := r.d.DecodeArrayLen()
	if err != nil {
		return 0, readErr(what, err)
	}
	if arrayCode(n) != c {
		return 0, fmt.Errorf("%w: %s: non-canonical array header", ErrMalformed, what)
	}
	if n > max {
		return 0, fmt.Errorf("%w: %s has %d elements, limit %d", ErrTooLarge, what, n, max)
	}
	if err := r.fitsInput(n, 1, what); err != nil {
		return 0, err
	}
	return n, nil
}

// fieldsBetween reads the header of a message whose newer versions append optional fields: lo to hi
// fields. It returns the count.
func (r *decoder) fieldsBetween(lo, hi int, what string) (int, error) {
	got, err := r.arrayLen(64, what)
	if err != nil {
		return 0, err
	}
	switch {
	case lo == hi && got != lo:
		return 0, fmt.Errorf("%w: %s has %d fields, want %d", ErrMalformed, what, got, lo)
	case got < lo || got > hi:
		return 0, fmt.Errorf("%w: %s has %d fields, want %d to %d", ErrMalformed, what, got, lo, hi)
	}
	return got, nil
}

// part is a piece of a message with its own encoding (an operation, a change proof).
type part[T any] interface {
	*T
	encode(w *encoder)
	decode(r *decoder) error
}

// writeTrailing writes an optional last field: the array of items, or nothing when there are none.
func writeTrailing[T any, P part[T]](w *encoder, items []T) {
	if len(items) == 0 {
		return
	}
	w.array(len(items))
	for j := range items {
		P(&items[j]).encode(w)
	}
}

// readTrailing reads what writeTrailing wrote when the field is present: 1..max items (an empty
// array is not canonical: the field is left out instead).
func readTrailing[T any, P part[T]](r *decoder, max int, what string) ([]T, error) {
	n, err := r.arrayLen(max, what)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: empty %s field (omit it)", ErrMalformed, what)
	}
	out := make([]T, n)
	for j := range out {
		if err := P(&out[j]).decode(r); err != nil {
			return nil, fmt.Errorf("%s %d: %w", what, j, err)
		}
	}
	return out, nil
}

// fields reads the header of a message encoded as a fixed-length array of n fields.
func (r *decoder) fields(n int, what string) error {
	_, err := r.fieldsBetween(n, n, what)
	return err
}

func binCode(n int) byte {
	switch {
	case n <= math.MaxUint8:
		return msgpcode.Bin8
	case n <= math.MaxUint16:
		return msgpcode.Bin16
	}
	return msgpcode.Bin32
}

// binLen reads a bin header in its shortest form and checks the length against max and the input.
func (r *decoder) binLen(max int, what string) (int, error) {
	c, err := r.peek(what)
	if err != nil {
		return 0, err
	}
	if !msgpcode.IsBin(c) {
		return 0, fmt.Errorf("%w: %s: code %#x is not bin", ErrMalformed, what, c)
	}
	n, err := r.d.DecodeBytesLen()
	if err != nil {
		return 0, readErr(what, err)
	}
	if binCode(n) != c {
		return 0, fmt.Errorf("%w: %s: non-canonical bin header", ErrMalformed, what)
	}
	if n > max {
		return 0, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, what, n, max)
	}
	if err := r.fitsInput(n, 1, what); err != nil {
		return 0, err
	}
	return n, nil
}

// bytes reads a bin of at most max bytes into a fresh slice.
func (r *decoder) bytes(max int, what string) ([]byte, error) {
	n, err := r.binLen(max, what)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if err := r.d.ReadFull(b); err != nil {
		return nil, readErr(what, err)
	}
	return b, nil
}

// sharedBytes is bytes, but when the input is a byte slice (Unmarshal) the result is a sub-slice of
// it, capacity capped, rather than a copy: a received round message's envelope body is megabytes, and
// every receiver decodes the envelope more than once (its checks, then lazy signature verification).
func (r *decoder) sharedBytes(max int, what string) ([]byte, error) {
	if r.at == nil {
		return r.bytes(max, what)
	}
	n, err := r.binLen(max, what) // checked against the bytes left, so the slice below is in range
	if err != nil {
		return nil, err
	}
	from := len(r.src) - r.at.Len()
	if _, err := r.at.Seek(int64(n), io.SeekCurrent); err != nil {
		return nil, readErr(what, err)
	}
	return r.src[from : from+n : from+n], nil
}

// header reads what every run-scoped message starts with: an array of n fields, the first the run.
func (r *decoder) header(n int, what string, run *RunID) error {
	if err := r.fields(n, what); err != nil {
		return err
	}
	return r.fixed(run[:], "run")
}

// heightRound reads a consensus position: the height, then the attempt round (a uint32).
func (r *decoder) heightRound() (height uint64, round uint32, err error) {
	if height, err = r.uint(maxUint64, "height"); err != nil {
		return 0, 0, err
	}
	rd, err := r.uint(maxUint32, "round")
	if err != nil {
		return 0, 0, err
	}
	return height, uint32(rd), nil
}

// roundMember reads a training round, then a member index (a uint32).
func (r *decoder) roundMember() (round uint64, member uint32, err error) {
	if round, err = r.uint(maxUint64, "round"); err != nil {
		return 0, 0, err
	}
	m, err := r.uint(maxUint32, "member")
	if err != nil {
		return 0, 0, err
	}
	return round, uint32(m), nil
}

// fixed reads a bin of exactly len(dst) bytes into dst.
func (r *decoder) fixed(dst []byte, what string) error {
	n, err := r.binLen(len(dst), what)
	if err != nil {
		return err
	}
	if n != len(dst) {
		return fmt.Errorf("%w: %s is %d bytes, want %d", ErrMalformed, what, n, len(dst))
	}
	if err := r.d.ReadFull(dst); err != nil {
		return readErr(what, err)
	}
	return nil
}

// blockLen reads a bin header holding whole records of size bytes and returns the record count, which
// must be at most max.
func (r *decoder) blockLen(size, max int, what string) (int, error) {
	n, err := r.binLen(size*max, what)
	if err != nil {
		return 0, err
	}
	if n%size != 0 {
		return 0, fmt.Errorf("%w: %s is %d bytes, not a multiple of %d", ErrMalformed, what, n, size)
	}
	return n / size, nil
}

// readBlocks reads count records of size bytes in chunks and hands each chunk to fn, so only one chunk
// buffer is ever allocated besides the caller's destination.
func (r *decoder) readBlocks(count, size int, what string, fn func(chunk []byte, first int)) error {
	per := chunkSize / size
	buf := make([]byte, min(count, per)*size)
	for done := 0; done < count; {
		k := min(count-done, per)
		chunk := buf[:k*size]
		if err := r.d.ReadFull(chunk); err != nil {
			return readErr(what, err)
		}
		fn(chunk, done)
		done += k
	}
	return nil
}

// floats reads a bin of little-endian float64s holding at most max values. Finiteness is checked by
// the message's Validate, once, after decoding.
func (r *decoder) floats(max int, what string) ([]float64, error) {
	n, err := r.blockLen(8, max, what)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	err = r.readBlocks(n, 8, what, func(chunk []byte, first int) {
		for j := 0; j < len(chunk)/8; j++ {
			out[first+j] = math.Float64frombits(binary.LittleEndian.Uint64(chunk[8*j:]))
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// uint32s reads a bin of little-endian uint32s holding at most max entries. Ordering and range are
// checked by the message's Validate.
func (r *decoder) uint32s(max int, what string) ([]uint32, error) {
	n, err := r.blockLen(4, max, what)
	if err != nil {
		return nil, err
	}
	out := make([]uint32, n)
	err = r.readBlocks(n, 4, what, func(chunk []byte, first int) {
		for j := 0; j < len(chunk)/4; j++ {
			out[first+j] = binary.LittleEndian.Uint32(chunk[4*j:])
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkIncreasing checks that idx is strictly increasing with every entry below bound.
func checkIncreasing(idx []uint32, bound uint32, what string) error {
	for j, v := range idx {
		if v >= bound {
			return fmt.Errorf("%w: %s[%d] = %d, must be < %d", ErrIndex, what, j, v, bound)
		}
		if j > 0 && v <= idx[j-1] {
			return fmt.Errorf("%w: %s not strictly increasing at %d", ErrIndex, what, j)
		}
	}
	return nil
}

// checkFinite returns an ErrNonFinite error naming the first NaN or ±Inf in v.
func checkFinite(v []float64, what string) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: %s[%d] = %v", ErrNonFinite, what, i, x)
		}
	}
	return nil
}

// --- encoding ---------------------------------------------------------------------------------------

// encoder wraps msgpack.Encoder with the few writers the messages need. Errors are sticky, so message
// encoders can write every field and check once.
type encoder struct {
	e   *msgpack.Encoder
	err error
}

func (w *encoder) uint(v uint64) {
	if w.err == nil {
		w.err = w.e.EncodeUint(v)
	}
}

func (w *encoder) int(v int64) {
	if w.err == nil {
		w.err = w.e.EncodeInt(v)
	}
}

func (w *encoder) bool(v bool) {
	if w.err == nil {
		w.err = w.e.EncodeBool(v)
	}
}

func (w *encoder) fields(n int) {
	if w.err == nil {
		w.err = w.e.EncodeArrayLen(n)
	}
}

// array writes the header of an array of n elements.
func (w *encoder) array(n int) { w.fields(n) }

// header writes the array header of a message of n fields and its first field, the run.
func (w *encoder) header(n int, run *RunID) {
	w.fields(n)
	w.bytes(run[:])
}

func (w *encoder) bytes(b []byte) {
	if w.err == nil {
		w.err = w.e.EncodeBytesLen(len(b))
	}
	if w.err == nil {
		_, w.err = w.e.Writer().Write(b)
	}
}

// floats writes v as one bin of little-endian float64s, converting a chunk at a time.
func (w *encoder) floats(v []float64) {
	if w.err == nil {
		w.err = w.e.EncodeBytesLen(8 * len(v))
	}
	buf := make([]byte, 0, min(len(v)*8, chunkSize))
	for i := 0; i < len(v) && w.err == nil; {
		buf = buf[:0]
		for ; i < len(v) && len(buf) < cap(buf); i++ {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v[i]))
		}
		_, w.err = w.e.Writer().Write(buf)
	}
}

// uint32s writes v as one bin of little-endian uint32s.
func (w *encoder) uint32s(v []uint32) {
	if w.err == nil {
		w.err = w.e.EncodeBytesLen(4 * len(v))
	}
	buf := make([]byte, 0, min(len(v)*4, chunkSize))
	for i := 0; i < len(v) && w.err == nil; {
		buf = buf[:0]
		for ; i < len(v) && len(buf) < cap(buf); i++ {
			buf = binary.LittleEndian.AppendUint32(buf, v[i])
		}
		_, w.err = w.e.Writer().Write(buf)
	}
}
