package modelfile

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/model"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/roster"
	"github.com/byzpp/byzpp/node/storage"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Format names this version of the sidecar.
const Format = "byzpp-model/1"

// ErrUnverified is wrapped by every reason Verify refuses a model.
var ErrUnverified = errors.New("modelfile: the model does not check out against the genesis")

// Meta is the sidecar, STEM.json.
type Meta struct {
	Format string `json:"format"`
	// Source says what wrote the file: "peer" (a run's member), "testnet sim" (no consensus, so no
	// certificate).
	Source string `json:"source"`
	Run    string `json:"run,omitempty"` // the run id (SHA-256 of the genesis file), hex
	Name   string `json:"name,omitempty"`
	// Round is the number of rounds decided: the weights are x^Round. Height is the consensus height
	// whose decision produced them (Round − 1).
	Round       uint64 `json:"round"`
	Height      uint64 `json:"height"`
	RunRounds   int    `json:"run_rounds"` // the run's length in the genesis; Round == RunRounds at its end
	StateDigest string `json:"state_digest"`
	Dim         int    `json:"dim"`
	Model       string `json:"model"` // logreg | mlp (algo/model): how to use the weights
	Hidden      int    `json:"hidden,omitempty"`
	Data        string `json:"data,omitempty"`
	Weights     struct {
		File   string `json:"file"`   // the .npy, relative to this file
		SHA256 string `json:"sha256"` // of the .npy file's bytes
	} `json:"weights"`
	// G is the state's gradient estimate g^Round, little-endian float64, base64: with x and Round it
	// gives the state digest the certificate's proposal commits to.
	G string `json:"g_f64le,omitempty"`
	// Proposal is the decided proposal (the wire encoding, base64); the certificate signs its value id.
	Proposal    string       `json:"proposal,omitempty"`
	Certificate *Certificate `json:"certificate,omitempty"`
	// Changes proves the member changes decided since the genesis (open runs), wire-encoded, base64.
	Changes []string `json:"changes,omitempty"`
}

// Certificate is wire.Certificate in readable form, with the members it indexes.
type Certificate struct {
	Height  uint64 `json:"height"`
	Attempt uint32 `json:"attempt"`
	Value   string `json:"value"` // the decided value id, hex
	// Members are the peer IDs of the members in force at Height; Signers index into them.
	Members    []string `json:"members"`
	Signers    []uint32 `json:"signers"`
	SignerIDs  []string `json:"signer_ids"`
	Signatures []string `json:"signatures"` // base64 Ed25519 signatures of the precommit, one per signer
}

// Model is a model in memory: weights and sidecar.
type Model struct {
	Meta Meta
	X    []float64
}

// FromState makes the model file of a certified decided state of the run g describes; members are the
// peer IDs in force at s.Height (the certificate's signers index into them).
func FromState(g *genesis.Genesis, s *wire.StateResponse, members []string) (*Model, error) {
	run, err := g.RunID()
	if err != nil {
		return nil, err
	}
	prop, err := wire.Marshal(&s.Proposal)
	if err != nil {
		return nil, err
	}
	m := &Model{X: slices.Clone(s.X)}
	m.Meta = describe(g.Spec, g.Name, s.Round, s.X, s.G)
	m.Meta.Source = "peer"
	m.Meta.Run = hex.EncodeToString(run[:])
	m.Meta.Height = s.Height
	m.Meta.G = base64.StdEncoding.EncodeToString(f64le(s.G))
	m.Meta.Proposal = base64.StdEncoding.EncodeToString(prop)
	c := &Certificate{Height: s.Cert.Height, Attempt: s.Cert.Round, Value: hex.EncodeToString(s.Cert.Value[:]),
		Members: slices.Clone(members), Signers: slices.Clone(s.Cert.Signers)}
	for j, i := range s.Cert.Signers {
		if int(i) >= len(members) {
			return nil, fmt.Errorf("modelfile: signer %d but %d members", i, len(members))
		}
		c.SignerIDs = append(c.SignerIDs, members[i])
		c.Signatures = append(c.Signatures, base64.StdEncoding.EncodeToString(s.Cert.Sigs[j]))
	}
	m.Meta.Certificate = c
	for j := range s.Changes {
		raw, err := wire.Marshal(&s.Changes[j])
		if err != nil {
			return nil, err
		}
		m.Meta.Changes = append(m.Meta.Changes, base64.StdEncoding.EncodeToString(raw))
	}
	return m, nil
}

// Uncertified makes the model file of a state no consensus decided (testnet sim's final state of a
// spec): everything but the proof, so Verify refuses it.
func Uncertified(spec sim.Spec, name string, st *method.State, source string) *Model {
	m := &Model{X: slices.Clone(st.X), Meta: describe(spec, name, st.Round, st.X, st.G)}
	m.Meta.Source = source
	m.Meta.G = base64.StdEncoding.EncodeToString(f64le(st.G))
	return m
}

func describe(spec sim.Spec, name string, round uint64, x, gv []float64) Meta {
	d := (&method.State{Round: round, X: x, G: gv}).Digest()
	meta := Meta{Format: Format, Name: name, Round: round, RunRounds: spec.Rounds, StateDigest: hex.EncodeToString(d[:]),
		Dim: len(x), Model: spec.Model, Data: spec.Data}
	if round > 0 {
		meta.Height = round - 1
	}
	if spec.Model == "mlp" {
		meta.Hidden = spec.Hidden
	}
	return meta
}

// Stem returns path without a .npy or .json extension: the common name of the two files.
func Stem(path string) string {
	for _, ext := range []string{".npy", ".json"} {
		if s, ok := strings.CutSuffix(path, ext); ok {
			return s
		}
	}
	return path
}

// Encode returns the two files' contents: the .npy and the sidecar (which names the .npy as
// base+".npy" and records its SHA-256).
func (m *Model) Encode(base string) (npy, sidecar []byte, err error) {
	npy = EncodeNpy(m.X)
	sum := sha256.Sum256(npy)
	meta := m.Meta
	meta.Weights.File, meta.Weights.SHA256 = base+".npy", hex.EncodeToString(sum[:])
	if sidecar, err = json.MarshalIndent(&meta, "", "  "); err != nil {
		return nil, nil, err
	}
	return npy, append(sidecar, '\n'), nil
}

// Write writes STEM.npy and STEM.json (path may name either or the stem), each replaced atomically,
// the weights first; it returns the two paths.
func (m *Model) Write(path string) (npyPath, jsonPath string, err error) {
	stem := Stem(path)
	npy, sidecar, err := m.Encode(filepath.Base(stem))
	if err != nil {
		return "", "", err
	}
	npyPath, jsonPath = stem+".npy", stem+".json"
	if err := writeAtomic(npyPath, npy); err != nil {
		return "", "", err
	}
	if err := writeAtomic(jsonPath, sidecar); err != nil {
		return "", "", err
	}
	return npyPath, jsonPath, nil
}

// Read reads STEM.json and the .npy it names (path may name either file or the stem).
func Read(path string) (*Model, error) {
	jsonPath := Stem(path) + ".json"
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, err
	}
	var meta Meta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("modelfile: %s: %w", jsonPath, err)
	}
	if meta.Weights.File == "" || filepath.Base(meta.Weights.File) != meta.Weights.File {
		return nil, fmt.Errorf("modelfile: %s: weights file %q is not a plain file name", jsonPath, meta.Weights.File)
	}
	npy, err := os.ReadFile(filepath.Join(filepath.Dir(jsonPath), meta.Weights.File))
	if err != nil {
		return nil, err
	}
	return Decode(npy, raw)
}

// Decode parses the two files' contents and checks that they belong together (the sidecar's SHA-256
// of the .npy, its dimension and format). It checks no signature: see Verify.
func Decode(npy, sidecar []byte) (*Model, error) {
	var meta Meta
	if err := json.Unmarshal(sidecar, &meta); err != nil {
		return nil, fmt.Errorf("modelfile: sidecar: %w", err)
	}
	if meta.Format != Format {
		return nil, fmt.Errorf("modelfile: format %q, want %q", meta.Format, Format)
	}
	sum := sha256.Sum256(npy)
	if hex.EncodeToString(sum[:]) != meta.Weights.SHA256 {
		return nil, fmt.Errorf("%w: the weights file's SHA-256 is not the sidecar's", ErrUnverified)
	}
	x, err := DecodeNpy(npy)
	if err != nil {
		return nil, err
	}
	if len(x) != meta.Dim {
		return nil, fmt.Errorf("modelfile: %d weights, the sidecar says %d", len(x), meta.Dim)
	}
	return &Model{Meta: meta, X: x}, nil
}

// Verify checks that the model is a state the run of g decided, as anyone holding the genesis can:
// the run id is g's; the member changes it carries check out from the genesis members on; the
// certificate carries correct signatures of more than two thirds of the members in force at its
// height (roster.Chain.KeysAt) on the proposal's value; and the proposal's state digest is the
// digest of (Round, weights, g). It returns the state so checked.
func Verify(g *genesis.Genesis, m *Model) (*wire.StateResponse, error) {
	bad := func(format string, a ...any) (*wire.StateResponse, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrUnverified}, a...)...)
	}
	run, err := g.RunID()
	if err != nil {
		return nil, err
	}
	meta := &m.Meta
	switch {
	case meta.Certificate == nil || meta.Proposal == "":
		return bad("no certificate (written by %q, which decides nothing)", meta.Source)
	case meta.Run != hex.EncodeToString(run[:]):
		return bad("run %.16s…, the genesis is run %x", meta.Run, run[:8])
	case meta.Round != meta.Height+1:
		return bad("round %d at height %d", meta.Round, meta.Height)
	case len(m.X) == 0 || len(m.X) != meta.Dim:
		return bad("%d weights, dimension %d", len(m.X), meta.Dim)
	}
	gb, err := base64.StdEncoding.DecodeString(meta.G)
	if err != nil || len(gb) != 8*len(m.X) {
		return bad("g is not %d base64 float64s", len(m.X))
	}
	lim := wire.LimitsFor(uint32(len(m.X)), uint32(max(len(g.Members), g.Capacity(), len(meta.Certificate.Members))))
	s := &wire.StateResponse{Run: run, Height: meta.Height, Round: meta.Round, X: m.X, G: fromF64le(gb)}
	raw, err := base64.StdEncoding.DecodeString(meta.Proposal)
	if err != nil {
		return bad("proposal: %v", err)
	}
	if err := wire.Unmarshal(raw, &s.Proposal, lim); err != nil {
		return bad("proposal: %v", err)
	}
	c := meta.Certificate
	s.Cert = wire.Certificate{Run: run, Height: c.Height, Round: c.Attempt, Signers: slices.Clone(c.Signers)}
	v, err := hex.DecodeString(c.Value)
	if err != nil || len(v) != len(s.Cert.Value) {
		return bad("certificate value %q", c.Value)
	}
	copy(s.Cert.Value[:], v)
	if len(c.Signatures) != len(c.Signers) {
		return bad("%d signers, %d signatures", len(c.Signers), len(c.Signatures))
	}
	for _, sig := range c.Signatures {
		b, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			return bad("signature: %v", err)
		}
		s.Cert.Sigs = append(s.Cert.Sigs, b)
	}
	for _, ch := range meta.Changes {
		b, err := base64.StdEncoding.DecodeString(ch)
		if err != nil {
			return bad("member change: %v", err)
		}
		var p wire.ChangeProof
		if err := wire.Unmarshal(b, &p, lim); err != nil {
			return bad("member change: %v", err)
		}
		s.Changes = append(s.Changes, p)
	}
	chain := roster.New(run, g.Members, g.Capacity())
	if _, err := chain.Extend(s.Changes); err != nil {
		return bad("member changes: %v", err)
	}
	switch {
	case s.Cert.Height != s.Height || s.Proposal.Height != s.Height || s.Proposal.Run != run:
		return bad("certificate of height %d, proposal of height %d, state of height %d", s.Cert.Height, s.Proposal.Height, s.Height)
	case s.Cert.Value != s.Proposal.ValueID():
		return bad("the certificate is for another value than the proposal's")
	}
	members := chain.At(s.Height).Members
	if !slices.Equal(members, c.Members) {
		return bad("the sidecar's members are not those in force at height %d", s.Height)
	}
	for j, i := range c.Signers {
		if j >= len(c.SignerIDs) || int(i) >= len(members) || c.SignerIDs[j] != members[i] {
			return bad("signer_ids do not match the signers")
		}
	}
	keys, err := chain.KeysAt(s.Height)
	if err != nil {
		return bad("%v", err)
	}
	if err := s.Cert.Verify(keys); err != nil {
		return bad("certificate: %v", err)
	}
	d := (&method.State{Round: s.Round, X: s.X, G: s.G}).Digest()
	if wire.Digest(d) != s.Proposal.StateDigest {
		return bad("the weights and g are not the certified state (digest %x, certified %x)", d[:8], s.Proposal.StateDigest[:8])
	}
	if meta.StateDigest != hex.EncodeToString(d[:]) {
		return bad("the sidecar's state_digest is not the state's")
	}
	return s, nil
}

func f64le(v []float64) []byte {
	out := make([]byte, 0, 8*len(v))
	for _, x := range v {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(x))
	}
	return out
}

func fromF64le(b []byte) []float64 {
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

// writeAtomic replaces path with data, readable by everyone (a model is meant to be shared).
func writeAtomic(path string, data []byte) error {
	return storage.WriteAtomic(path, data, 0o755, 0o644)
}

// Score returns the held-out loss and accuracy of the weights x under spec (the model kind, data and
// test set of the run; NaN, NaN when the spec has no test set): the numbers testnet sim and the
// peers' /status give for the same weights (model.Scorer, the bits of model.Accuracy).
func Score(spec sim.Spec, x []float64, cache *sim.DataCache) (loss, accuracy float64, err error) {
	if cache == nil {
		cache = &sim.DataCache{}
	}
	setup, err := sim.Build(spec, cache)
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	if setup.Model.Dim() != len(x) {
		return math.NaN(), math.NaN(), fmt.Errorf("modelfile: %d weights, the spec's model has %d", len(x), setup.Model.Dim())
	}
	d, err := cache.LoadTest(&setup.Spec, setup.Dataset, setup.Model)
	if err != nil || d == nil {
		return math.NaN(), math.NaN(), err
	}
	loss, accuracy = model.NewScorer(setup.Model, d).Score(x)
	return loss, accuracy, nil
}
