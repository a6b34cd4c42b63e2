package modelfile

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestNpyHeader: the bytes numpy.save writes for a float64 vector — magic, version 1.0, header length,
// the dict numpy writes, padded with spaces to a 64-byte boundary and ended by a newline — then the
// data, little-endian.
func TestNpyHeader(t *testing.T) {
	for _, n := range []int{0, 1, 3, 123, 100000} {
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(i) - 0.5
		}
		b := EncodeNpy(x)
		if !bytes.HasPrefix(b, []byte("\x93NUMPY\x01\x00")) {
			t.Fatalf("n=%d: prefix %q", n, b[:8])
		}
		hlen := int(binary.LittleEndian.Uint16(b[8:10]))
		if (10+hlen)%64 != 0 {
			t.Errorf("n=%d: data starts at %d, not a multiple of 64", n, 10+hlen)
		}
		header := string(b[10 : 10+hlen])
		want := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }", n)
		if strings.TrimRight(header, " \n") != want || !strings.HasSuffix(header, "\n") || strings.Count(header, "\n") != 1 {
			t.Errorf("n=%d: header %q, want %q padded with spaces and a newline", n, header, want)
		}
		if len(b) != 10+hlen+8*n {
			t.Errorf("n=%d: %d bytes", n, len(b))
		}
		if n > 1 && math.Float64frombits(binary.LittleEndian.Uint64(b[10+hlen+8:])) != 0.5 {
			t.Errorf("n=%d: x[1] not little-endian 0.5", n)
		}
		got, err := DecodeNpy(b)
		if err != nil || !slices.Equal(got, x) {
			t.Fatalf("n=%d: round trip: %v", n, err)
		}
	}
	// What numpy.save writes for np.arange(3, dtype='<f8') (numpy 1.26), byte for byte.
	numpy := "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }" + strings.Repeat(" ", 60) + "\n"
	if got := string(EncodeNpy([]float64{0, 1, 2})[:128]); got != numpy {
		t.Errorf("header %q\nwant   %q", got, numpy)
	}
	for name, bad := range map[string]string{
		"big-endian": "{'descr': '>f8', 'fortran_order': False, 'shape': (0,), }",
		"float32":    "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }",
		"fortran":    "{'descr': '<f8', 'fortran_order': True, 'shape': (0,), }",
		"2-D":        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
	} {
		b := append([]byte("\x93NUMPY\x01\x00"), byte(len(bad)+1), 0)
		b = append(append(b, bad...), '\n')
		if _, err := DecodeNpy(b); !errors.Is(err, ErrNpy) {
			t.Errorf("%s: %v, want ErrNpy", name, err)
		}
	}
}

// run is a genesis of four members with their keys.
type run struct {
	g    *genesis.Genesis
	keys []crypto.PrivKey // by member index
}

func newRun(t *testing.T) *run {
	t.Helper()
	byID := map[string]crypto.PrivKey{}
	var ids []string
	for range 4 {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := peer.IDFromPrivateKey(k)
		byID[id.String()] = k
		ids = append(ids, id.String())
	}
	slices.Sort(ids)
	spec := sim.Default()
	spec.Members, spec.Byzantine, spec.Rounds = 4, 1, 30
	g, err := genesis.New("modelfile-test", ids, spec)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{g: g}
	for _, id := range ids {
		r.keys = append(r.keys, byID[id])
	}
	return r
}

// decided is the certified state of round `round`, signed by the given members.
func (r *run) decided(t *testing.T, round uint64, x, g []float64, signers ...int) *wire.StateResponse {
	t.Helper()
	id, _ := r.g.RunID()
	st := &method.State{Round: round, X: x, G: g}
	p := wire.Proposal{Run: id, Height: round - 1, POLRound: -1, StateDigest: wire.Digest(st.Digest()),
		Included: []wire.Inclusion{{Member: 2, Digest: wire.Digest{7}}}}
	vote := wire.Vote{Run: id, Type: wire.Precommit, Height: round - 1, Round: 0, Value: p.ValueID()}
	body, err := wire.Marshal(&vote)
	if err != nil {
		t.Fatal(err)
	}
	var envs []wire.Envelope
	for _, i := range signers {
		e, err := wire.Sign(r.keys[i], wire.TypeVote, uint32(i), body)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, e)
	}
	cert, err := wire.AssembleCertificate(envs, wire.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return &wire.StateResponse{Run: id, Height: round - 1, Round: round, X: x, G: g, Proposal: p, Cert: cert}
}

// TestRoundTripAndVerify: a certified state written and read back is the same model, verifies against
// its genesis, and scores; a model tampered with anywhere is refused.
func TestRoundTripAndVerify(t *testing.T) {
	r := newRun(t)
	x := []float64{0.25, -1.5, math.SmallestNonzeroFloat64, 3}
	s := r.decided(t, 30, x, []float64{1, 2, 3, 4}, 0, 1, 3)
	m, err := FromState(r.g, s, r.g.Members)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	npyPath, jsonPath, err := m.Write(filepath.Join(dir, "model.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if npyPath != filepath.Join(dir, "model.npy") || jsonPath != filepath.Join(dir, "model.json") {
		t.Fatalf("wrote %s, %s", npyPath, jsonPath)
	}
	back, err := Read(filepath.Join(dir, "model"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.X, x) || back.Meta.Round != 30 || back.Meta.Dim != 4 || back.Meta.Certificate == nil ||
		!slices.Equal(back.Meta.Certificate.Signers, []uint32{0, 1, 3}) || back.Meta.Certificate.SignerIDs[2] != r.g.Members[3] {
		t.Fatalf("read back %+v", back.Meta)
	}
	if _, err := Verify(r.g, back); err != nil {
		t.Fatalf("verify: %v", err)
	}
	npy, sidecar, _ := m.Encode("model")
	npy2, sidecar2, _ := back.Encode("model")
	if !bytes.Equal(npy, npy2) || !bytes.Equal(sidecar, sidecar2) {
		t.Error("re-encoding what was read changes the bytes")
	}

	tamper := map[string]func(m *Model){
		"weight":    func(m *Model) { m.X[1] += 1e-12 },
		"round":     func(m *Model) { m.Meta.Round++; m.Meta.Height++ },
		"digest":    func(m *Model) { m.Meta.StateDigest = strings.Repeat("0", 64) },
		"run":       func(m *Model) { m.Meta.Run = strings.Repeat("ab", 32) },
		"signature": func(m *Model) { m.Meta.Certificate.Signatures[0] = m.Meta.Certificate.Signatures[1] },
		"too few": func(m *Model) {
			c := m.Meta.Certificate
			c.Signers, c.SignerIDs, c.Signatures = c.Signers[:2], c.SignerIDs[:2], c.Signatures[:2]
		},
		"signer renamed": func(m *Model) { m.Meta.Certificate.SignerIDs[0] = m.Meta.Certificate.SignerIDs[1] },
		"members": func(m *Model) {
			m.Meta.Certificate.Members[0], m.Meta.Certificate.Members[1] = m.Meta.Certificate.Members[1], m.Meta.Certificate.Members[0]
		},
		"no certificate": func(m *Model) { m.Meta.Certificate = nil },
		"g":              func(m *Model) { m.Meta.G = m.Meta.G[:len(m.Meta.G)-4] + "AAA=" },
	}
	for name, f := range tamper {
		c, err := Decode(npy, sidecar)
		if err != nil {
			t.Fatal(err)
		}
		f(c)
		if _, err := Verify(r.g, c); !errors.Is(err, ErrUnverified) {
			t.Errorf("%s: verify gave %v, want ErrUnverified", name, err)
		}
	}
	// Another run's genesis (same members, another name) does not verify it.
	other := *r.g
	other.Name = "another run"
	if _, err := Verify(&other, back); !errors.Is(err, ErrUnverified) {
		t.Errorf("other genesis: %v", err)
	}
	// The files on disk: weights swapped for other weights are refused by Read (SHA-256) and, with
	// the sidecar's hash fixed up too, by Verify (the state digest).
	evil := slices.Clone(x)
	evil[0] = 42
	if err := os.WriteFile(npyPath, EncodeNpy(evil), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(jsonPath); !errors.Is(err, ErrUnverified) {
		t.Errorf("swapped weights read: %v", err)
	}
	forged := &Model{Meta: back.Meta, X: evil}
	fnpy, fside, _ := forged.Encode("model")
	c, err := Decode(fnpy, fside)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(r.g, c); !errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), "not the certified state") {
		t.Errorf("forged weights with a matching hash: %v", err)
	}
	// A sidecar is plain JSON with the fields the README names.
	var fields map[string]any
	if err := json.Unmarshal(sidecar, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"format", "run", "round", "state_digest", "dim", "model", "weights", "certificate"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("sidecar lacks %q", k)
		}
	}
}

// TestUncertifiedRefused: testnet sim's model (no consensus) reads back but does not verify.
func TestUncertifiedRefused(t *testing.T) {
	r := newRun(t)
	m := Uncertified(r.g.Spec, "sim", &method.State{Round: 30, X: []float64{1, 2}, G: []float64{0, 0}}, "testnet sim")
	dir := t.TempDir()
	if _, _, err := m.Write(filepath.Join(dir, "model")); err != nil {
		t.Fatal(err)
	}
	back, err := Read(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(r.g, back); !errors.Is(err, ErrUnverified) {
		t.Errorf("verify: %v", err)
	}
}
