package wire

import (
	"fmt"
	"testing"
)

var benchDims = []int{124, 100_000, 1_000_000}

func benchRoundMsg(d int) *RoundMsg {
	return &RoundMsg{Run: testRun, Round: 12345, Member: 7, Full: true, StateDigest: digestOf(1), Vec: denseVec(d)}
}

func BenchmarkEncodeRoundMsg(b *testing.B) {
	for _, d := range benchDims {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			m := benchRoundMsg(d)
			b.SetBytes(int64(8 * d))
			for b.Loop() {
				if _, err := Marshal(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeRoundMsg(b *testing.B) {
	for _, d := range benchDims {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			data, err := Marshal(benchRoundMsg(d))
			if err != nil {
				b.Fatal(err)
			}
			lim := DefaultLimits()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var m RoundMsg
				if err := Unmarshal(data, &m, lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	key := testKey(b, 0)
	for _, d := range benchDims {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			body, err := Marshal(benchRoundMsg(d))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Sign(key, TypeRound, 7, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	key := testKey(b, 0)
	for _, d := range benchDims {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			env, err := SignMessage(key, 7, benchRoundMsg(d))
			if err != nil {
				b.Fatal(err)
			}
			pub := key.GetPublic()
			b.SetBytes(int64(len(env.Body)))
			for b.Loop() {
				if err := env.Verify(pub); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEnvelopeDigest(b *testing.B) {
	env, err := SignMessage(testKey(b, 0), 7, benchRoundMsg(100_000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(env.Body)))
	for b.Loop() {
		_ = env.Digest()
	}
}

func BenchmarkCertificateVerify(b *testing.B) {
	cert, pub := sampleCertificate(b, 20, Quorum(20))
	for b.Loop() {
		if err := cert.Verify(pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignedRoundBytes: what a sampled member does with its round message — sign it and encode
// the envelope it sends (SignedBytes; before it, SignMessage and Marshal).
func BenchmarkSignedRoundBytes(b *testing.B) {
	key := testKey(b, 0)
	for _, d := range benchDims {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			m := benchRoundMsg(d)
			b.SetBytes(int64(8 * d))
			for b.Loop() {
				if _, err := SignedBytes(key, 7, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReceiveRoundEnvelope: what a receiver does with a round message's bytes — decode the
// envelope, then its body (node checks the envelope before it opens it).
func BenchmarkReceiveRoundEnvelope(b *testing.B) {
	key := testKey(b, 0)
	for _, d := range benchDims {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			env, err := SignMessage(key, 7, benchRoundMsg(d))
			if err != nil {
				b.Fatal(err)
			}
			raw, err := Marshal(&env)
			if err != nil {
				b.Fatal(err)
			}
			lim := DefaultLimits()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				var got Envelope
				if err := Unmarshal(raw, &got, lim); err != nil {
					b.Fatal(err)
				}
				if _, err := got.Open(lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
