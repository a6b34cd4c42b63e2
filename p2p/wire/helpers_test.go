package wire

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"testing"

	"github.com/byzpp/byzpp/algo/rng"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/vmihailenco/msgpack/v5"
)

// testKey returns member i's deterministic Ed25519 key.
func testKey(t testing.TB, i int) crypto.PrivKey {
	t.Helper()
	var seed [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i)+1)
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testKeys(t testing.TB, n int) ([]crypto.PrivKey, []crypto.PubKey) {
	priv := make([]crypto.PrivKey, n)
	pub := make([]crypto.PubKey, n)
	for i := range priv {
		priv[i] = testKey(t, i)
		pub[i] = priv[i].GetPublic()
	}
	return priv, pub
}

func digestOf(b byte) Digest {
	var d Digest
	for i := range d {
		d[i] = b + byte(i)
	}
	return d
}

var testRun = RunID(digestOf(200))

func denseVec(n int) Vector {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i)*0.25 - 3
	}
	return Dense(v)
}

func sparseVec() Vector {
	return Vector{Dim: 10, Index: []uint32{0, 3, 9}, Values: []float64{1.5, -2, 1e-300}}
}

func sampleProposal() Proposal {
	return Proposal{
		Run: testRun, Height: 7, Round: 2, POLRound: 1,
		Included:    []Inclusion{{Member: 0, Digest: digestOf(1)}, {Member: 4, Digest: digestOf(2)}},
		StateDigest: digestOf(3),
	}
}

// sampleCertificate signs a precommit for sampleProposal by the first q of n members.
func sampleCertificate(t testing.TB, n, q int) (Certificate, []crypto.PubKey) {
	priv, pub := testKeys(t, n)
	p := sampleProposal()
	vote := Vote{Run: testRun, Type: Precommit, Height: p.Height, Round: p.Round, Value: p.ValueID()}
	var envs []Envelope
	for i := q - 1; i >= 0; i-- { // reverse order: AssembleCertificate must sort
		e, err := SignMessage(priv[i], uint32(i), &vote)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, e)
	}
	c, err := AssembleCertificate(envs, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return c, pub
}

// sampleMessages returns one valid value of every message type.
func sampleMessages(t testing.TB) map[string]Message {
	cert, _ := sampleCertificate(t, 4, 3)
	prop := sampleProposal()
	propOps := sampleProposal()
	propOps.Height = prop.Height - 1
	propOps.Ops = sampleOps()
	certOps := cert
	certOps.Height, certOps.Value = propOps.Height, propOps.ValueID()
	env, err := SignMessage(testKey(t, 2), 2, &RoundMsg{Run: testRun, Round: 3, Member: 2, Vec: sparseVec()})
	if err != nil {
		t.Fatal(err)
	}
	envBytes, err := Marshal(&env)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Message{
		"round-dense":   &RoundMsg{Run: testRun, Round: 1 << 40, Member: 3, Full: true, StateDigest: digestOf(9), Vec: denseVec(300)},
		"round-sparse":  &RoundMsg{Run: testRun, Round: 5, Member: 0, Vec: sparseVec()},
		"round-empty":   &RoundMsg{Run: testRun, Round: 5, Member: 1, Vec: Vector{Dim: 4, Index: []uint32{}, Values: []float64{}}},
		"announce":      &Announce{Run: testRun, Round: 2, Member: 17, Digest: digestOf(5), Size: 70000},
		"proposal":      &prop,
		"proposal-nil":  &Proposal{Run: testRun, Height: 1, POLRound: -1},
		"vote":          &Vote{Run: testRun, Type: Prevote, Height: 1 << 33, Round: 70000, Value: digestOf(4)},
		"certificate":   &cert,
		"state-request": &StateRequest{Run: testRun, FromHeight: 12},
		"state-response": &StateResponse{Run: testRun, Height: prop.Height, Round: 8,
			X: []float64{1, 2, 3}, G: []float64{-1, 0, 0.5}, Proposal: prop, Cert: cert},
		"msg-request":        &MsgRequest{Run: testRun, Digests: []Digest{digestOf(1), digestOf(2)}},
		"msg-response":       &MsgResponse{Envelopes: [][]byte{envBytes, envBytes[:len(envBytes)-1]}},
		"msg-response-empty": &MsgResponse{},
		"envelope":           &env,
		"proposal-ops":       &propOps,
		"state-response-changes": &StateResponse{Run: testRun, Height: prop.Height, Round: 8,
			X: []float64{1, 2, 3}, G: []float64{-1, 0, 0.5}, Proposal: prop, Cert: cert,
			Changes: []ChangeProof{{Proposal: propOps, Cert: certOps}}},
		"member-request": &MemberRequest{Run: testRun, Op: sampleOps()[0]},
	}
}

// sampleOps returns one operation of every kind.
func sampleOps() []MemberOp {
	return []MemberOp{
		{Kind: OpJoin, Peer: []byte("joiner-peer-id"), Height: 3, Sig: bytes.Repeat([]byte{7}, 64)},
		{Kind: OpLeave, Peer: []byte("leaver"), Height: 2, Sig: bytes.Repeat([]byte{8}, 64)},
		{Kind: OpRemove, Peer: []byte("silent"), Height: 4},
	}
}

// fresh returns a new zero value of m's type.
func fresh(m Message) Message {
	switch m.(type) {
	case *RoundMsg:
		return new(RoundMsg)
	case *Announce:
		return new(Announce)
	case *Proposal:
		return new(Proposal)
	case *Vote:
		return new(Vote)
	case *Certificate:
		return new(Certificate)
	case *StateRequest:
		return new(StateRequest)
	case *StateResponse:
		return new(StateResponse)
	case *MsgRequest:
		return new(MsgRequest)
	case *MsgResponse:
		return new(MsgResponse)
	case *Envelope:
		return new(Envelope)
	case *MemberRequest:
		return new(MemberRequest)
	}
	panic("unknown message type")
}

// raw builds arbitrary (possibly invalid) msgpack with the library encoder, for rejection tests.
func raw(t testing.TB, build func(e *msgpack.Encoder) error) []byte {
	t.Helper()
	var buf rawBuf
	e := msgpack.NewEncoder(&buf)
	if err := build(e); err != nil {
		t.Fatal(err)
	}
	return buf
}

type rawBuf []byte

func (b *rawBuf) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// randomVector draws a dense or sparse vector of dimension 1..maxDim from the test stream r.
func randomVector(seed uint64, i uint64, maxDim int) Vector {
	r := rng.New(seed, i, rng.Init, 0)
	dim := 1 + rng.IntN(r, maxDim)
	if rng.Bernoulli(r, 0.5) {
		v := make([]float64, dim)
		for j := range v {
			v[j] = rng.Normal(r) * 1e3
		}
		return Dense(v)
	}
	k := rng.IntN(r, dim+1)
	idx32 := make([]uint32, 0, k)
	for _, j := range rng.Sample(r, dim, k) {
		idx32 = append(idx32, uint32(j))
	}
	vals := make([]float64, k)
	for j := range vals {
		vals[j] = rng.Normal(r)
	}
	return Vector{Dim: uint32(dim), Index: idx32, Values: vals}
}
