package wire

import (
	"bytes"
	"crypto/sha256"
	"reflect"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
	"github.com/vmihailenco/msgpack/v5"
)

func TestRoundTripEveryMessage(t *testing.T) {
	for name, m := range sampleMessages(t) {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			got := fresh(m)
			if err := Unmarshal(b, got, DefaultLimits()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", got, m)
			}
			again, err := Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, b) {
				t.Fatal("re-encoding differs")
			}
			// The msgpack.CustomEncoder/CustomDecoder path produces and accepts the same bytes.
			viaLib, err := msgpack.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(viaLib, b) {
				t.Fatal("msgpack.Marshal differs from Marshal")
			}
			got2 := fresh(m)
			if err := msgpack.Unmarshal(b, got2); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got2, m) {
				t.Fatal("msgpack.Unmarshal differs")
			}
		})
	}
}

// TestRoundTripRandom is a property test: random round messages, proposals and certificates-shaped
// values survive a round trip bit for bit, and their encodings are canonical.
func TestRoundTripRandom(t *testing.T) {
	for i := uint64(0); i < 300; i++ {
		r := rng.New(42, i, rng.Init, 1)
		rm := &RoundMsg{Run: testRun, Round: uint64(rng.IntN(r, 1<<30)), Member: uint32(rng.IntN(r, 100)),
			Full: rng.Bernoulli(r, 0.5), StateDigest: digestOf(byte(i)), Vec: randomVector(42, i, 300)}
		var inc []Inclusion
		for _, m := range rng.Sample(r, 50, rng.IntN(r, 50)) {
			inc = append(inc, Inclusion{Member: uint32(m), Digest: digestOf(byte(m))})
		}
		round := uint32(rng.IntN(r, 5))
		pol := int32(rng.IntN(r, int(round)+1)) - 1
		p := &Proposal{Run: testRun, Height: i, Round: round, POLRound: pol, Included: inc, StateDigest: digestOf(7)}
		for _, m := range []Message{rm, p} {
			b, err := Marshal(m)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			got := fresh(m)
			if err := Unmarshal(b, got, DefaultLimits()); err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("case %d: round trip changed %T", i, m)
			}
		}
	}
}

func TestEnvelopeDigestIsHashOfBytes(t *testing.T) {
	env := sampleMessages(t)["envelope"].(*Envelope)
	b, err := Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if env.Digest() != Digest(sha256.Sum256(b)) {
		t.Fatal("Digest is not the SHA-256 of the encoding")
	}
	other := *env
	other.Signer++
	if other.Digest() == env.Digest() {
		t.Fatal("different envelopes share a digest")
	}
}

func TestValueID(t *testing.T) {
	p := sampleProposal()
	id := p.ValueID()
	q := p
	q.Round, q.POLRound = 9, 4
	if q.ValueID() != id {
		t.Fatal("ValueID depends on the attempt round")
	}
	q.Run = RunID{}
	if q.ValueID() != id {
		t.Fatal("ValueID depends on the run (votes bind the run, the value need not)")
	}
	changes := map[string]func(*Proposal){
		"height":  func(p *Proposal) { p.Height++ },
		"state":   func(p *Proposal) { p.StateDigest[0] ^= 1 },
		"member":  func(p *Proposal) { p.Included[1].Member++ },
		"digest":  func(p *Proposal) { p.Included[0].Digest[31] ^= 1 },
		"drop":    func(p *Proposal) { p.Included = p.Included[:1] },
		"add":     func(p *Proposal) { p.Included = append(p.Included, Inclusion{Member: 9}) },
		"no-incl": func(p *Proposal) { p.Included = nil },
	}
	for name, change := range changes {
		q := sampleProposal()
		q.Included = append([]Inclusion(nil), q.Included...)
		change(&q)
		if q.ValueID() == id {
			t.Errorf("%s: ValueID unchanged", name)
		}
	}
	// Brute-force definition.
	var buf []byte
	buf = append(buf, "byzpp/value/v1"...)
	buf = append(buf, 7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0)
	buf = append(buf, 0, 0, 0, 0)
	d1 := digestOf(1)
	buf = append(buf, d1[:]...)
	buf = append(buf, 4, 0, 0, 0)
	d2 := digestOf(2)
	buf = append(buf, d2[:]...)
	d3 := digestOf(3)
	buf = append(buf, d3[:]...)
	if Digest(sha256.Sum256(buf)) != id {
		t.Fatal("ValueID differs from its definition")
	}
}

func TestLimitsFor(t *testing.T) {
	const dim, members = 1000, 20
	lim := LimitsFor(dim, members)
	if err := lim.Validate(); err != nil {
		t.Fatal(err)
	}
	// The largest messages of such a run fit: a fully populated sparse vector from the last member,
	// a response carrying one of those per member, a full state with a certificate of all members.
	vals := make([]float64, dim)
	idx := make([]uint32, dim)
	for i := range idx {
		idx[i] = uint32(i)
	}
	key := testKey(t, 0)
	env, err := SignMessage(key, members-1, &RoundMsg{Run: testRun, Round: 1 << 62, Member: members - 1,
		Vec: Vector{Dim: dim, Index: idx, Values: vals}})
	if err != nil {
		t.Fatal(err)
	}
	eb, _ := Marshal(&env)
	if err := Unmarshal(eb, new(Envelope), lim); err != nil {
		t.Fatalf("largest envelope rejected: %v", err)
	}
	resp := &MsgResponse{}
	for range members {
		resp.Envelopes = append(resp.Envelopes, eb)
	}
	rb, _ := Marshal(resp)
	if err := Unmarshal(rb, new(MsgResponse), lim); err != nil {
		t.Fatalf("largest message response rejected: %v", err)
	}
	cert, _ := sampleCertificate(t, members, members)
	prop := sampleProposal()
	sr := &StateResponse{Run: testRun, Height: prop.Height, X: vals, G: vals, Proposal: prop, Cert: cert}
	sb, _ := Marshal(sr)
	if err := Unmarshal(sb, new(StateResponse), lim); err != nil {
		t.Fatalf("largest state response rejected: %v", err)
	}
	// And one more dimension does not.
	big := &RoundMsg{Run: testRun, Vec: denseVec(dim + 1)}
	bb, _ := Marshal(big)
	if err := Unmarshal(bb, new(RoundMsg), lim); err == nil {
		t.Fatal("vector above MaxDim accepted")
	}
}
