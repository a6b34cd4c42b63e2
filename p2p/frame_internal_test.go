package p2p

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 1 << 20, 1<<20 + 1, 3 << 20} {
		payload := bytes.Repeat([]byte{0xab}, n)
		var buf bytes.Buffer
		if err := writeFrame(&buf, payload); err != nil {
			t.Fatal(err)
		}
		got, err := readFrame(bufio.NewReader(&buf), n)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("n=%d: %v", n, err)
		}
		if n > 0 {
			var b2 bytes.Buffer
			_ = writeFrame(&b2, payload)
			if _, err := readFrame(bufio.NewReader(&b2), n-1); !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("n=%d over cap: %v", n, err)
			}
		}
	}
}

// TestFrameClaimDoesNotAllocate: a header claiming far more than arrives costs at most one read step.
func TestFrameClaimDoesNotAllocate(t *testing.T) {
	data := binary.AppendUvarint(nil, 1<<30)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := readFrame(bufio.NewReaderSize(bytes.NewReader(data), 16), 1<<31); err == nil {
		t.Fatal("truncated frame accepted")
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > readStep+64<<10 {
		t.Fatalf("a 1 GiB claim allocated %d bytes", got)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(binary.AppendUvarint(nil, 3), []byte("abc"))
	f.Add(binary.AppendUvarint(nil, 1<<40), []byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, []byte{})
	f.Fuzz(func(t *testing.T, head, body []byte) {
		const max = 1 << 12
		in := append(append([]byte(nil), head...), body...)
		got, err := readFrame(bufio.NewReader(bytes.NewReader(in)), max)
		if err != nil {
			return
		}
		if len(got) > max {
			t.Fatalf("frame of %d bytes above cap", len(got))
		}
		n, k := binary.Uvarint(in)
		if k <= 0 || n != uint64(len(got)) || !bytes.Equal(got, in[k:k+len(got)]) {
			t.Fatal("frame is not the bytes its header announced")
		}
	})
}

func FuzzParseBootstrap(f *testing.F) {
	f.Add("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSJ8X3ah3QbNiooer6b11W5yt7REN6UZ7N51YPVD8scw6")
	f.Add("/dns4/example.org/udp/4001/quic-v1/p2p/12D3KooWSJ8X3ah3QbNiooer6b11W5yt7REN6UZ7N51YPVD8scw6")
	f.Add("/ip4/1.2.3.4/tcp/1")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		infos, err := parseBootstrap([]string{s, s})
		if err != nil {
			return
		}
		if len(infos) != 1 || infos[0].ID == "" {
			t.Fatalf("parsed %v", infos)
		}
	})
}

func TestPeerSlots(t *testing.T) {
	s := newPeerSlots(2)
	if !s.tryAcquire("a") || !s.tryAcquire("a") {
		t.Fatal("slots not granted")
	}
	if s.tryAcquire("a") {
		t.Fatal("third slot granted")
	}
	if !s.tryAcquire("b") {
		t.Fatal("other peer blocked")
	}
	s.release("a")
	if !s.tryAcquire("a") {
		t.Fatal("released slot not reusable")
	}
	s.release("a")
	s.release("a")
	s.release("b")
	if len(s.slots) != 0 {
		t.Fatalf("slot entries leak: %d", len(s.slots))
	}
}
