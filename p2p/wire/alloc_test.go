package wire

import (
	"bufio"
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// hugeHeaders are inputs whose length headers claim about 4 GiB.
func hugeHeaders() map[string]struct {
	data []byte
	into func() Message
} {
	ff := []byte{0xff, 0xff, 0xff, 0xff}
	envBody := append([]byte{msgpcode.FixedArrayLow | 5, 1, 1, 0, msgpcode.Bin32}, ff...)
	vecVals := append([]byte{msgpcode.FixedArrayLow | 4, msgpcode.Uint32, 0, 0xff, 0xff, 0xff, msgpcode.False, msgpcode.Bin8, 0, msgpcode.Bin32}, ff...)
	round := append([]byte{msgpcode.FixedArrayLow | 6, msgpcode.Bin8, 32}, make([]byte, 32)...)
	round = append(round, 1, 1, msgpcode.False, msgpcode.Bin8, 32)
	round = append(round, make([]byte, 32)...)
	round = append(round, vecVals...)
	respArray := append([]byte{msgpcode.FixedArrayLow | 1, msgpcode.Array32}, ff...)
	return map[string]struct {
		data []byte
		into func() Message
	}{
		"envelope body bin32": {envBody, func() Message { return new(Envelope) }},
		"vector values bin32": {round, func() Message { return new(RoundMsg) }},
		"response array32":    {respArray, func() Message { return new(MsgResponse) }},
		"envelope array32":    {append([]byte{msgpcode.Array32}, ff...), func() Message { return new(Envelope) }},
		"digests bin32":       {append(append([]byte{msgpcode.FixedArrayLow | 2, msgpcode.Bin8, 32}, make([]byte, 32)...), append([]byte{msgpcode.Bin32}, ff...)...), func() Message { return new(MsgRequest) }},
	}
}

// TestHugeHeaderFailsFast checks that headers claiming ~4 GiB are rejected before any large allocation,
// both through Unmarshal (which knows the input length) and through msgpack's CustomDecoder path on a
// stream whose length is unknown (where only the Limits caps protect).
func TestHugeHeaderFailsFast(t *testing.T) {
	lim := DefaultLimits()
	for name, c := range hugeHeaders() {
		t.Run(name, func(t *testing.T) {
			if err := Unmarshal(c.data, c.into(), lim); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Unmarshal: got %v, want ErrTooLarge", err)
			}
			stream := func() error {
				d := msgpack.NewDecoder(bufio.NewReader(bytes.NewReader(c.data)))
				return c.into().DecodeMsgpack(d)
			}
			if err := stream(); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("stream decode: got %v, want ErrTooLarge", err)
			}
			allocated := bytesAllocated(func() { _ = Unmarshal(c.data, c.into(), lim) })
			if allocated > 64<<10 {
				t.Fatalf("Unmarshal allocated %d bytes for a %d-byte input", allocated, len(c.data))
			}
			allocated = bytesAllocated(func() { _ = stream() })
			if allocated > 64<<10 {
				t.Fatalf("stream decode allocated %d bytes", allocated)
			}
			if n := testing.AllocsPerRun(20, func() { _ = Unmarshal(c.data, c.into(), lim) }); n > 20 {
				t.Fatalf("%v allocations per rejected input", n)
			}
		})
	}
}

// TestClaimBeyondInputFailsFast: a header under the caps but beyond the bytes present is rejected
// without allocating the claimed size.
func TestClaimBeyondInputFailsFast(t *testing.T) {
	// Body claims 100 MB (< MaxEnvelope) in a 13-byte input.
	data := []byte{msgpcode.FixedArrayLow | 5, 1, 1, 0, msgpcode.Bin32, 0x05, 0xf5, 0xe1, 0x00, 1, 2, 3, 4}
	if err := Unmarshal(data, new(Envelope), DefaultLimits()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	if allocated := bytesAllocated(func() { _ = Unmarshal(data, new(Envelope), DefaultLimits()) }); allocated > 64<<10 {
		t.Fatalf("allocated %d bytes", allocated)
	}
}

func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
