package statesync

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// MsgsProto is the stream protocol on which a member serves the round messages it holds to members that
// lack one.
const MsgsProto = "msgs/1"

var (
	// ErrNoState is returned to a state request when this peer has decided nothing yet.
	ErrNoState = errors.New("node: no decided state yet")
	// ErrOtherRun is returned to a request for another run.
	ErrOtherRun = errors.New("wrong run")
)

// Liar is a false-state attacker (node/byzantine's Adversary is one): it is told the decided state
// each decision replaces, and turns the certified state this peer would serve into what it serves.
type Liar interface {
	// ReplacingDecided is called with the Server's lock held: the candidate decided state (cand) or
	// the encoded certified one (certified) about to be replaced, either may be nil.
	ReplacingDecided(cand *wire.StateResponse, certified []byte)
	ServeState(honest []byte) ([]byte, error)
}

// ServerConfig is what a Server needs of its peer.
type ServerConfig struct {
	// Run is the run served: a request for another is refused with ErrOtherRun.
	Run wire.RunID
	// KeysAt returns the keys of the members in force at a height (the member history): a
	// certificate is certified against them.
	KeysAt func(height uint64) ([]p2p.PubKey, error)
	// Liar is nil for an honest peer.
	Liar Liar
	// Checked, if set, counts the signatures the Server checks (Status.SigsVerified).
	Checked *atomic.Int64
	Log     *slog.Logger
}

// Server is what a peer serves to others: the round messages it holds (msgs/1, Msgs) and its latest
// decided state with the certificate of its decision (state/1, State, Latest). A decision is stored
// with a candidate certificate — a quorum of precommits whose signatures were not all checked — and
// certified when it is first served (Latest), not at every decision. The event loop writes to it
// (Hold, Prune, Decided, Restored), stream handlers read; it is safe from any goroutine, and the
// signature checks run outside its lock.
type Server struct {
	cfg ServerConfig

	mu   sync.Mutex
	msgs map[uint64]map[[32]byte][]byte // round → envelope digest → raw envelope
	// latest is the encoded StateResponse of the last decided round, certified; cand is the last
	// decided round with a candidate certificate, until Latest certifies it into latest.
	latest []byte
	cand   *wire.StateResponse
}

// NewServer returns a Server that holds nothing yet.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, msgs: map[uint64]map[[32]byte][]byte{}}
}

// Hold makes the round message raw, of the given round and envelope digest, available to peers that
// lack it.
func (s *Server) Hold(round uint64, digest [32]byte, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msgs[round]
	if m == nil {
		m = map[[32]byte][]byte{}
		s.msgs[round] = m
	}
	m[digest] = raw
}

// Prune forgets the round messages of rounds before k−2 (at height k).
func (s *Server) Prune(k uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r := range s.msgs {
		if r+2 < k {
			delete(s.msgs, r)
		}
	}
}

// HeldBefore returns a round message held of a round before k (any member's; the one with the
// smallest digest, so that the choice does not depend on map order), nil if none: what a replaying
// attacker sends.
func (s *Server) HeldBefore(k uint64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best []byte
	var bestDigest [32]byte
	for r, m := range s.msgs {
		if r >= k {
			continue
		}
		for d, raw := range m {
			if best == nil || bytes.Compare(d[:], bestDigest[:]) < 0 {
				best, bestDigest = raw, d
			}
		}
	}
	return best
}

// Msgs answers a msgs/1 request (an encoded MsgRequest) with the envelopes held of those asked for that
// servable lets through: a message stored with its signature unchecked is checked before it is served.
func (s *Server) Msgs(req []byte, lim wire.Limits, servable func(raw []byte) bool) ([]byte, error) {
	var r wire.MsgRequest
	if err := wire.Unmarshal(req, &r, lim); err != nil {
		return nil, err
	}
	if r.Run != s.cfg.Run {
		return nil, ErrOtherRun
	}
	var found [][]byte
	s.mu.Lock()
	for _, d := range r.Digests {
		for _, m := range s.msgs {
			if raw, ok := m[[32]byte(d)]; ok {
				found = append(found, raw)
				break
			}
		}
	}
	s.mu.Unlock()
	var resp wire.MsgResponse
	for _, raw := range found {
		if servable(raw) {
			resp.Envelopes = append(resp.Envelopes, raw)
		}
	}
	return wire.Marshal(&resp)
}

// State answers a state/1 request (an encoded StateRequest) with the latest decided state and its
// certificate (Latest), or ErrNoState — a false-state attacker's lie instead (ServerConfig.Liar).
func (s *Server) State(req []byte, lim wire.Limits) ([]byte, error) {
	var r wire.StateRequest
	if err := wire.Unmarshal(req, &r, lim); err != nil {
		return nil, err
	}
	if r.Run != s.cfg.Run {
		return nil, ErrOtherRun
	}
	latest, err := s.Latest()
	if err != nil {
		return nil, err
	}
	if latest == nil {
		return nil, ErrNoState
	}
	if s.cfg.Liar != nil {
		return s.cfg.Liar.ServeState(latest)
	}
	return latest, nil
}

// Decided makes a decided state (resp, encoded as raw) what this peer serves. certified says whether
// resp.Cert is a checked certificate or a candidate, to be certified when first served.
func (s *Server) Decided(resp *wire.StateResponse, raw []byte, certified bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Liar != nil {
		s.cfg.Liar.ReplacingDecided(s.cand, s.latest)
	}
	if certified {
		s.latest, s.cand = raw, nil
	} else {
		s.latest, s.cand = nil, resp
	}
}

// Restored sets the encoded certified state served (nil: none) as restoring a peer finds it, without
// telling the Liar.
func (s *Server) Restored(raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest, s.cand = raw, nil
}

// Latest returns the encoded StateResponse this peer serves: the latest decided state with a certified
// certificate, certifying the stored candidate on first use; nil when nothing is decided.
func (s *Server) Latest() ([]byte, error) {
	s.mu.Lock()
	raw, cand := s.latest, s.cand
	s.mu.Unlock()
	if raw != nil || cand == nil {
		return raw, nil
	}
	resp := *cand
	cert, err := s.Certify(cand.Cert)
	if err != nil {
		return nil, err
	}
	resp.Cert = cert
	if raw, err = wire.Marshal(&resp); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.cand == cand {
		s.latest = raw
	}
	s.mu.Unlock()
	return raw, nil
}

// Certify returns the certificate made of cand's correctly signed precommits (at most a quorum of
// them, in member order) by the members in force at its height, or an error wrapping wire.ErrQuorum
// when fewer than a quorum hold.
func (s *Server) Certify(cand wire.Certificate) (wire.Certificate, error) {
	vote := cand.Vote()
	body, err := wire.Marshal(&vote)
	if err != nil {
		return wire.Certificate{}, err
	}
	out := cand
	out.Signers, out.Sigs = nil, nil
	keys, err := s.cfg.KeysAt(cand.Height)
	if err != nil {
		return wire.Certificate{}, err
	}
	q := wire.Quorum(len(keys))
	for j, signer := range cand.Signers {
		if len(out.Signers) == q {
			break
		}
		if int(signer) >= len(keys) || j >= len(cand.Sigs) {
			continue
		}
		e := wire.Envelope{Version: wire.Version, Type: wire.TypeVote, Signer: signer, Body: body, Sig: cand.Sigs[j]}
		if s.cfg.Checked != nil {
			s.cfg.Checked.Add(1)
		}
		if e.Verify(keys[signer]) != nil {
			s.cfg.Log.Warn("precommit with a bad signature left out of a certificate", "signer", signer, "height", cand.Height)
			continue
		}
		out.Signers = append(out.Signers, signer)
		out.Sigs = append(out.Sigs, cand.Sigs[j])
	}
	if len(out.Signers) < q {
		return wire.Certificate{}, fmt.Errorf("%w: %d correctly signed precommits, need %d", wire.ErrQuorum, len(out.Signers), q)
	}
	return out, nil
}
