package wire

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// enc helpers for hand-built (possibly invalid) messages.
type fieldFn func(e *msgpack.Encoder) error

func arr(fs ...fieldFn) fieldFn {
	return func(e *msgpack.Encoder) error {
		if err := e.EncodeArrayLen(len(fs)); err != nil {
			return err
		}
		for _, f := range fs {
			if err := f(e); err != nil {
				return err
			}
		}
		return nil
	}
}
func u(v uint64) fieldFn { return func(e *msgpack.Encoder) error { return e.EncodeUint(v) } }
func i(v int64) fieldFn  { return func(e *msgpack.Encoder) error { return e.EncodeInt(v) } }
func b(v bool) fieldFn   { return func(e *msgpack.Encoder) error { return e.EncodeBool(v) } }
func bin(v []byte) fieldFn {
	return func(e *msgpack.Encoder) error {
		if v == nil {
			v = []byte{} // EncodeBytes(nil) writes msgpack nil
		}
		return e.EncodeBytes(v)
	}
}
func str(v string) fieldFn { return func(e *msgpack.Encoder) error { return e.EncodeString(v) } }
func rawBytes(v ...byte) fieldFn {
	return func(e *msgpack.Encoder) error { _, err := e.Writer().Write(v); return err }
}
func d32(x byte) fieldFn { d := digestOf(x); return bin(d[:]) }

func f64s(v ...float64) fieldFn {
	var out []byte
	for _, x := range v {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(x))
	}
	return bin(out)
}

func u32s(v ...uint32) fieldFn {
	out := []byte{}
	for _, x := range v {
		out = binary.LittleEndian.AppendUint32(out, x)
	}
	return bin(out)
}

func roundMsg(vec fieldFn) fieldFn {
	return arr(d32(200), u(1), u(2), b(false), d32(1), vec)
}

func envelope(fs ...fieldFn) fieldFn { return arr(fs...) }

func TestRejections(t *testing.T) {
	small := DefaultLimits()
	small.MaxDim, small.MaxMembers, small.MaxDigests = 16, 8, 4
	sig := make([]byte, SigSize)
	okEnvFields := []fieldFn{u(1), u(1), u(0), bin([]byte{1, 2}), bin(sig)}
	cases := []struct {
		name string
		data fieldFn
		into Message
		want error
	}{
		// envelope framing
		{"unknown version", envelope(u(2), u(1), u(0), bin(nil), bin(sig)), new(Envelope), ErrVersion},
		{"future layout", envelope(u(3), u(1)), new(Envelope), ErrVersion},
		{"version zero", envelope(u(0), u(1), u(0), bin(nil), bin(sig)), new(Envelope), ErrVersion},
		{"envelope 4 fields", envelope(okEnvFields[:4]...), new(Envelope), ErrMalformed},
		{"envelope 6 fields", envelope(append(okEnvFields, u(0))...), new(Envelope), ErrMalformed},
		{"empty envelope", envelope(), new(Envelope), ErrMalformed},
		{"unknown type", envelope(u(1), u(9), u(0), bin(nil), bin(sig)), new(Envelope), ErrEnum},
		{"type zero", envelope(u(1), u(0), u(0), bin(nil), bin(sig)), new(Envelope), ErrEnum},
		{"signer out of range", envelope(u(1), u(1), u(8), bin(nil), bin(sig)), new(Envelope), ErrIndex},
		{"short signature", envelope(u(1), u(1), u(0), bin(nil), bin(sig[:63])), new(Envelope), ErrMalformed},
		{"long signature", envelope(u(1), u(1), u(0), bin(nil), bin(append(sig, 0))), new(Envelope), ErrTooLarge},
		{"body as string", envelope(u(1), u(1), u(0), str("ab"), bin(sig)), new(Envelope), ErrMalformed},
		{"body nil", envelope(u(1), u(1), u(0), rawBytes(msgpcode.Nil), bin(sig)), new(Envelope), ErrMalformed},
		{"not an array", u(1), new(Envelope), ErrMalformed},
		{"map instead of array", func(e *msgpack.Encoder) error { return e.EncodeMapLen(0) }, new(Envelope), ErrMalformed},
		{"trailing byte", func(e *msgpack.Encoder) error {
			if err := envelope(okEnvFields...)(e); err != nil {
				return err
			}
			return e.EncodeUint(0)
		}, new(Envelope), ErrTrailing},
		{"truncated", func(e *msgpack.Encoder) error {
			return rawBytes(msgpcode.FixedArrayLow|5, 1, 1, 0, msgpcode.Bin8, 10, 1, 2)(e)
		}, new(Envelope), ErrTooLarge},
		{"truncated after body", rawBytes(msgpcode.FixedArrayLow|5, 1, 1, 0, msgpcode.Bin8, 1, 1), new(Envelope), ErrMalformed},
		{"truncated mid integer", rawBytes(msgpcode.FixedArrayLow|5, 1, 1, msgpcode.Uint32, 0, 0), new(Envelope), ErrMalformed},
		{"truncated signature", envelope(u(1), u(1), u(0), bin(nil)), new(Envelope), ErrMalformed},
		// canonical encoding
		{"uint16 for small value", envelope(u(1), rawBytes(msgpcode.Uint16, 0, 1), u(0), bin(nil), bin(sig)), new(Envelope), ErrMalformed},
		{"uint8 for fixint", envelope(rawBytes(msgpcode.Uint8, 1), u(1), u(0), bin(nil), bin(sig)), new(Envelope), ErrMalformed},
		{"int8 for unsigned", envelope(u(1), rawBytes(msgpcode.Int8, 1), u(0), bin(nil), bin(sig)), new(Envelope), ErrMalformed},
		{"negative signer", envelope(u(1), u(1), i(-1), bin(nil), bin(sig)), new(Envelope), ErrMalformed},
		{"nil as zero", envelope(u(1), u(1), rawBytes(msgpcode.Nil), bin(nil), bin(sig)), new(Envelope), ErrMalformed},
		{"bin16 for short body", envelope(u(1), u(1), u(0), rawBytes(msgpcode.Bin16, 0, 1, 7), bin(sig)), new(Envelope), ErrMalformed},
		{"array16 for short array", func(e *msgpack.Encoder) error {
			if _, err := e.Writer().Write([]byte{msgpcode.Array16, 0, 5}); err != nil {
				return err
			}
			for _, f := range okEnvFields {
				if err := f(e); err != nil {
					return err
				}
			}
			return nil
		}, new(Envelope), ErrMalformed},
		// vectors
		{"NaN", roundMsg(arr(u(3), b(false), u32s(), f64s(1, math.NaN(), 2))), new(RoundMsg), ErrNonFinite},
		{"+Inf", roundMsg(arr(u(3), b(false), u32s(), f64s(1, math.Inf(1), 2))), new(RoundMsg), ErrNonFinite},
		{"-Inf sparse", roundMsg(arr(u(3), b(true), u32s(1), f64s(math.Inf(-1)))), new(RoundMsg), ErrNonFinite},
		{"dense short", roundMsg(arr(u(3), b(false), u32s(), f64s(1, 2))), new(RoundMsg), ErrDimension},
		{"dense long", roundMsg(arr(u(2), b(false), u32s(), f64s(1, 2, 3))), new(RoundMsg), ErrTooLarge},
		{"dense with indices", roundMsg(arr(u(3), b(false), u32s(0), f64s(1, 2, 3))), new(RoundMsg), ErrDimension},
		{"dimension zero", roundMsg(arr(u(0), b(false), u32s(), f64s())), new(RoundMsg), ErrDimension},
		{"dimension above cap", roundMsg(arr(u(17), b(true), u32s(), f64s())), new(RoundMsg), ErrTooLarge},
		{"index not increasing", roundMsg(arr(u(5), b(true), u32s(3, 1), f64s(1, 2))), new(RoundMsg), ErrIndex},
		{"index repeated", roundMsg(arr(u(5), b(true), u32s(1, 1), f64s(1, 2))), new(RoundMsg), ErrIndex},
		{"index out of range", roundMsg(arr(u(5), b(true), u32s(1, 5), f64s(1, 2))), new(RoundMsg), ErrIndex},
		{"index/value count", roundMsg(arr(u(5), b(true), u32s(1, 2), f64s(1))), new(RoundMsg), ErrDimension},
		{"float bin not multiple of 8", roundMsg(arr(u(1), b(false), u32s(), bin(make([]byte, 7)))), new(RoundMsg), ErrMalformed},
		{"index bin not multiple of 4", roundMsg(arr(u(5), b(true), bin(make([]byte, 6)), f64s(1))), new(RoundMsg), ErrMalformed},
		{"sparse flag as int", roundMsg(arr(u(1), u(0), u32s(), f64s(1))), new(RoundMsg), ErrMalformed},
		{"vector 3 fields", roundMsg(arr(u(1), b(false), f64s(1))), new(RoundMsg), ErrMalformed},
		{"member out of range", arr(d32(200), u(1), u(8), b(false), d32(1), arr(u(1), b(false), u32s(), f64s(1))), new(RoundMsg), ErrIndex},
		{"short run id", arr(bin(make([]byte, 31)), u(1), u(0), b(false), d32(1), arr(u(1), b(false), u32s(), f64s(1))), new(RoundMsg), ErrMalformed},
		{"round as float", arr(d32(200), func(e *msgpack.Encoder) error { return e.EncodeFloat64(1) }, u(0), b(false), d32(1), arr(u(1), b(false), u32s(), f64s(1))), new(RoundMsg), ErrMalformed},
		// announce
		{"announce size zero", arr(d32(200), u(1), u(0), d32(3), u(0)), new(Announce), ErrTooLarge},
		{"announce size above cap", arr(d32(200), u(1), u(0), d32(3), u(uint64(small.MaxEnvelope)+1)), new(Announce), ErrTooLarge},
		// proposal
		{"POL round -2", arr(d32(200), u(1), u(3), i(-2), u32s(), bin(nil), d32(3)), new(Proposal), ErrEnum},
		{"POL round = round", arr(d32(200), u(1), u(3), i(3), u32s(), bin(nil), d32(3)), new(Proposal), ErrEnum},
		{"POL round non-canonical", arr(d32(200), u(1), u(3), rawBytes(msgpcode.Int8, 0xff), u32s(), bin(nil), d32(3)), new(Proposal), ErrMalformed},
		{"included unsorted", arr(d32(200), u(1), u(0), i(-1), u32s(3, 2), bin(make([]byte, 64)), d32(3)), new(Proposal), ErrIndex},
		{"included duplicate", arr(d32(200), u(1), u(0), i(-1), u32s(2, 2), bin(make([]byte, 64)), d32(3)), new(Proposal), ErrIndex},
		{"included member out of range", arr(d32(200), u(1), u(0), i(-1), u32s(8), bin(make([]byte, 32)), d32(3)), new(Proposal), ErrIndex},
		{"included digest count", arr(d32(200), u(1), u(0), i(-1), u32s(1, 2), bin(make([]byte, 32)), d32(3)), new(Proposal), ErrMalformed},
		{"included too many", arr(d32(200), u(1), u(0), i(-1), u32s(0, 1, 2, 3, 4, 5, 6, 7, 8), bin(make([]byte, 9*32)), d32(3)), new(Proposal), ErrTooLarge},
		{"round above uint32", arr(d32(200), u(1), u(1<<32), i(-1), u32s(), bin(nil), d32(3)), new(Proposal), ErrEnum},
		// vote
		{"vote type 0", arr(d32(200), u(0), u(1), u(0), d32(1)), new(Vote), ErrEnum},
		{"vote type 3", arr(d32(200), u(3), u(1), u(0), d32(1)), new(Vote), ErrEnum},
		{"vote type 300", arr(d32(200), u(300), u(1), u(0), d32(1)), new(Vote), ErrEnum},
		// certificate
		{"certificate nil value", arr(d32(200), u(1), u(0), bin(make([]byte, 32)), u32s(0), bin(sig)), new(Certificate), ErrEnum},
		{"certificate no signers", arr(d32(200), u(1), u(0), d32(1), u32s(), bin(nil)), new(Certificate), ErrTooLarge},
		{"certificate sig count", arr(d32(200), u(1), u(0), d32(1), u32s(0, 1), bin(sig)), new(Certificate), ErrMalformed},
		{"certificate extra sig", arr(d32(200), u(1), u(0), d32(1), u32s(0), bin(append(sig, sig...))), new(Certificate), ErrTooLarge},
		{"certificate signers unsorted", arr(d32(200), u(1), u(0), d32(1), u32s(1, 0), bin(append(sig, sig...))), new(Certificate), ErrIndex},
		// requests and responses
		{"msg request empty", arr(d32(200), bin(nil)), new(MsgRequest), ErrTooLarge},
		{"msg request partial digest", arr(d32(200), bin(make([]byte, 33))), new(MsgRequest), ErrMalformed},
		{"msg request too many", arr(d32(200), bin(make([]byte, 5*32))), new(MsgRequest), ErrTooLarge},
		{"msg response empty envelope", arr(arr(bin(nil))), new(MsgResponse), ErrTooLarge},
		{"msg response too many", arr(arr(bin([]byte{1}), bin([]byte{1}), bin([]byte{1}), bin([]byte{1}), bin([]byte{1}))), new(MsgResponse), ErrTooLarge},
		{"state response mismatched lengths", arr(d32(200), u(1), u(1), f64s(1, 2), f64s(1), arr(), arr()), new(StateResponse), ErrMalformed},
		{"state request 3 fields", arr(d32(200), u(1), u(2)), new(StateRequest), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := raw(t, c.data)
			err := Unmarshal(data, c.into, small)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestRejectsSemanticMismatch covers the StateResponse cross-checks, which need real parts.
func TestRejectsSemanticMismatch(t *testing.T) {
	base := *sampleMessages(t)["state-response"].(*StateResponse)
	cases := map[string]func(s *StateResponse){
		"other run":    func(s *StateResponse) { s.Cert.Run[0] ^= 1 },
		"other height": func(s *StateResponse) { s.Height++ },
		"other value":  func(s *StateResponse) { s.Proposal.StateDigest[0] ^= 1 },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			s := base
			change(&s)
			if _, err := Marshal(&s); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Marshal: got %v, want ErrMalformed", err)
			}
			// Encode bypassing validation, as a hostile peer would, and check the decoder rejects it.
			var buf rawBuf
			w := encoder{e: msgpack.NewEncoder(&buf)}
			s.encode(&w)
			if err := Unmarshal(buf, new(StateResponse), DefaultLimits()); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Unmarshal: got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestMarshalRefusesInvalid(t *testing.T) {
	cases := map[string]Message{
		"nan":          &RoundMsg{Vec: Vector{Dim: 1, Values: []float64{math.NaN()}}},
		"bad index":    &RoundMsg{Vec: Vector{Dim: 2, Index: []uint32{1, 0}, Values: []float64{1, 2}}},
		"vote type":    &Vote{Type: 7},
		"pol":          &Proposal{Round: 1, POLRound: 1},
		"empty cert":   &Certificate{Value: digestOf(1)},
		"bad envelope": &Envelope{Version: 1, Type: TypeVote, Sig: []byte{1}},
	}
	for name, m := range cases {
		if _, err := Marshal(m); err == nil {
			t.Errorf("%s: Marshal accepted an invalid message", name)
		}
	}
}

func TestUnmarshalChecksLimits(t *testing.T) {
	b, err := Marshal(&Vote{Run: testRun, Type: Prevote})
	if err != nil {
		t.Fatal(err)
	}
	lim := DefaultLimits()
	lim.MaxMessage = len(b) - 1
	if err := Unmarshal(b, new(Vote), lim); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("message above MaxMessage: got %v", err)
	}
	if err := Unmarshal(b, new(Vote), Limits{}); err == nil {
		t.Fatal("zero limits accepted")
	}
}
