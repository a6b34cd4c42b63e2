package wire

import (
	"bytes"
	"testing"
)

// fuzzLimits are small caps, so the fuzzer explores the interesting boundaries quickly.
func fuzzLimits() Limits {
	return Limits{MaxDim: 64, MaxMembers: 16, MaxDigests: 8, MaxEnvelope: 4096, MaxMessage: 1 << 16}
}

// fuzzDecode checks, for any input: decoding never panics; whatever decodes is valid and re-encodes to
// the identical bytes (the encoding is canonical).
func fuzzDecode(f *testing.F, newMsg func() Message, seeds ...Message) {
	for _, s := range seeds {
		b, err := Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if len(b) > 1 {
			f.Add(b[:len(b)-1])
			flipped := bytes.Clone(b)
			flipped[len(b)/2] ^= 0x40
			f.Add(flipped)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0xc0})
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		m := newMsg()
		if err := Unmarshal(data, m, lim); err != nil {
			return
		}
		if err := m.Validate(&lim); err != nil {
			t.Fatalf("decoded an invalid message: %v", err)
		}
		again, err := Marshal(m)
		if err != nil {
			t.Fatalf("decoded message does not re-encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("non-canonical input accepted:\n in  %x\n out %x", data, again)
		}
	})
}

func seedsOf[T Message](t testing.TB) []Message {
	var out []Message
	for _, m := range sampleMessages(t) {
		if _, ok := m.(T); ok {
			// Only seeds that fit the fuzz limits are useful.
			b, _ := Marshal(m)
			lim := fuzzLimits()
			if Unmarshal(b, fresh(m), lim) == nil {
				out = append(out, m)
			}
		}
	}
	return out
}

func FuzzDecodeEnvelope(f *testing.F) {
	env, err := SignMessage(testKey(f, 0), 3, &Vote{Run: testRun, Type: Prevote, Value: digestOf(2)})
	if err != nil {
		f.Fatal(err)
	}
	fuzzDecode(f, func() Message { return new(Envelope) }, append(seedsOf[*Envelope](f), &env)...)
}

func FuzzDecodeRoundMsg(f *testing.F) {
	seeds := append(seedsOf[*RoundMsg](f), &RoundMsg{Run: testRun, Member: 1, Vec: denseVec(5)})
	fuzzDecode(f, func() Message { return new(RoundMsg) }, seeds...)
}

func FuzzDecodeAnnounce(f *testing.F) {
	fuzzDecode(f, func() Message { return new(Announce) }, &Announce{Run: testRun, Round: 1, Member: 2, Digest: digestOf(1), Size: 300})
}

func FuzzDecodeProposal(f *testing.F) {
	fuzzDecode(f, func() Message { return new(Proposal) }, seedsOf[*Proposal](f)...)
}

func FuzzDecodeVote(f *testing.F) {
	fuzzDecode(f, func() Message { return new(Vote) }, seedsOf[*Vote](f)...)
}

func FuzzDecodeCertificate(f *testing.F) {
	fuzzDecode(f, func() Message { return new(Certificate) }, seedsOf[*Certificate](f)...)
}

func FuzzDecodeStateRequest(f *testing.F) {
	fuzzDecode(f, func() Message { return new(StateRequest) }, seedsOf[*StateRequest](f)...)
}

func FuzzDecodeStateResponse(f *testing.F) {
	fuzzDecode(f, func() Message { return new(StateResponse) }, seedsOf[*StateResponse](f)...)
}

func FuzzDecodeMsgRequest(f *testing.F) {
	fuzzDecode(f, func() Message { return new(MsgRequest) }, seedsOf[*MsgRequest](f)...)
}

func FuzzDecodeMsgResponse(f *testing.F) {
	fuzzDecode(f, func() Message { return new(MsgResponse) }, seedsOf[*MsgResponse](f)...)
}

func FuzzDecodeMemberRequest(f *testing.F) {
	fuzzDecode(f, func() Message { return new(MemberRequest) }, seedsOf[*MemberRequest](f)...)
}

// FuzzOpenEnvelope runs the full receive path a gossip validator uses: decode the envelope, decode its
// body by type, verify the signature against member keys.
func FuzzOpenEnvelope(f *testing.F) {
	priv, pub := testKeys(f, 4)
	for _, m := range []Message{
		&Vote{Run: testRun, Type: Precommit, Value: digestOf(1)},
		&RoundMsg{Run: testRun, Member: 2, Vec: sparseVec()},
		&Announce{Run: testRun, Member: 1, Digest: digestOf(3), Size: 10},
	} {
		env, err := SignMessage(priv[1], 1, m)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := Marshal(&env)
		f.Add(b)
	}
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		var env Envelope
		if Unmarshal(data, &env, lim) != nil {
			return
		}
		if _, err := env.Open(lim); err != nil {
			return
		}
		if int(env.Signer) < len(pub) {
			_ = env.Verify(pub[env.Signer])
		}
	})
}
