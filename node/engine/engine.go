package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
)

// Digest identifies a signed round message (the hash of its signed envelope).
type Digest = [32]byte

// Sentinel errors callers branch on.
var (
	ErrWrongRound   = errors.New("message for a round outside the window")
	ErrWrongState   = errors.New("message computed at another state than the agreed one")
	ErrNotSampled   = errors.New("sender not sampled in that round")
	ErrEquivocation = errors.New("member sent two different messages for one round")
	ErrDuplicate    = errors.New("message already held")
	ErrMissing      = errors.New("proposal includes messages this peer does not hold")
	ErrMismatch     = errors.New("proposal's state digest does not match the re-derived state")
	ErrBadProposal  = errors.New("malformed proposal")
)

// Stored is a round message the engine holds, with the signed bytes it came in (to serve to peers that
// lack it) and the tick it arrived (to judge censorship).
type Stored struct {
	Digest Digest
	// State is the digest of the state its author computed it at (wire.RoundMsg.StateDigest).
	State   Digest
	Msg     method.Message
	Raw     []byte
	Arrived uint64
}

// Inclusion names one message a proposal includes.
type Inclusion struct {
	Member int
	Digest Digest
}

// Candidate is a proposal's content together with the state it leads to.
type Candidate struct {
	Round       uint64
	Included    []Inclusion
	Next        *method.State
	StateDigest Digest
	Outcome     method.Outcome
}

// ValueID is what consensus agrees on: SHA-256 over (round, included digests, state digest).
func (c *Candidate) ValueID() Digest { return ValueID(c.Round, c.Included, c.StateDigest) }

// ValueID hashes a proposal's content canonically, exactly as wire.Proposal.ValueID does (round as
// uint64, count and members as uint32, all little endian), so the value consensus agrees on, the value
// a certificate signs and the value re-derived here are one and the same.
func ValueID(round uint64, included []Inclusion, stateDigest Digest) Digest {
	h := sha256.New()
	var buf [8]byte
	h.Write([]byte("byzpp/value/v1"))
	binary.LittleEndian.PutUint64(buf[:], round)
	h.Write(buf[:])
	binary.LittleEndian.PutUint32(buf[:4], uint32(len(included)))
	h.Write(buf[:4])
	for _, in := range included {
		binary.LittleEndian.PutUint32(buf[:4], uint32(in.Member))
		h.Write(buf[:4])
		h.Write(in.Digest[:])
	}
	h.Write(stateDigest[:])
	var out Digest
	h.Sum(out[:0])
	return out
}

// Engine holds one peer's training state.
type Engine struct {
	setup *sim.Setup
	seed  uint64
	state *method.State
	// Window is how many rounds ahead messages are accepted: members send round k+1's message while
	// round k is being decided (node's speculate.go), and the leader of k+1 may lag a few heights
	// behind when it arrives — a message it dropped then is one its proposal would lack (4, node's
	// maxFutureHeights, where 2 let that happen on a 20-peer testnet).
	Window uint64
	msgs   map[uint64]map[int]*Stored
	// spare holds, for rounds not started yet, a member's message computed at another state than
	// the one in msgs: an honest member that sent its next message speculatively (node's
	// speculate.go) sends another once a different value is decided. Reset keeps the one computed at
	// the state decided.
	spare  map[uint64]map[int]*Stored
	byDig  map[Digest]*Stored
	digest Digest // of state
	cands  map[Digest]*Candidate
}

// New starts an engine at state st (a fresh method.NewState(x0) or a restored one).
func New(setup *sim.Setup, st *method.State) *Engine {
	return &Engine{setup: setup, seed: setup.Spec.Seed, state: st, Window: 4, digest: st.Digest(),
		msgs: map[uint64]map[int]*Stored{}, spare: map[uint64]map[int]*Stored{}, byDig: map[Digest]*Stored{},
		cands: map[Digest]*Candidate{}}
}

// State returns the current agreed state (do not modify it).
func (e *Engine) State() *method.State { return e.state }

// Digest returns the digest of the current agreed state (computed once per state).
func (e *Engine) Digest() Digest { return e.digest }

// Round returns the round being decided.
func (e *Engine) Round() uint64 { return e.state.Round }

// Plan returns the plan of round k.
func (e *Engine) Plan(k uint64) method.Plan { return e.setup.Method.PlanRound(e.seed, k) }

// Add stores a member's round message after checking that its round is in the window, the member is
// sampled, the vector is well formed and, for the current round, that it was computed at the agreed
// state (ErrWrongState). A second, different message from the same member for the same round and
// state returns ErrEquivocation (the first one is kept: both are signed, so this is evidence); one
// computed at another state, for a round not started yet, is kept aside until Reset tells which
// state counts.
func (e *Engine) Add(round uint64, s *Stored) error {
	if round < e.state.Round || round > e.state.Round+e.Window {
		return fmt.Errorf("%w: round %d, deciding %d", ErrWrongRound, round, e.state.Round)
	}
	if round == e.state.Round && s.State != e.digest {
		return fmt.Errorf("%w: member %d, round %d", ErrWrongState, s.Msg.Member, round)
	}
	if !e.Plan(round).Contains(s.Msg.Member) {
		return fmt.Errorf("%w: member %d, round %d", ErrNotSampled, s.Msg.Member, round)
	}
	if err := s.Msg.Vec.Validate(e.setup.Model.Dim()); err != nil {
		return fmt.Errorf("member %d, round %d: %w", s.Msg.Member, round, err)
	}
	byMember := members(e.msgs, round)
	if old, ok := byMember[s.Msg.Member]; ok {
		if old.Digest == s.Digest {
			return ErrDuplicate
		}
		if old.State == s.State || round == e.state.Round {
			return fmt.Errorf("%w: member %d, round %d", ErrEquivocation, s.Msg.Member, round)
		}
		return e.addSpare(round, s)
	}
	byMember[s.Msg.Member] = s
	e.byDig[s.Digest] = s
	return nil
}

// members returns the messages of round in m by member, adding an empty map for it if needed.
func members(m map[uint64]map[int]*Stored, round uint64) map[int]*Stored {
	byMember := m[round]
	if byMember == nil {
		byMember = map[int]*Stored{}
		m[round] = byMember
	}
	return byMember
}

// addSpare keeps a member's second message for a future round, computed at another state than its
// first; a third is refused as equivocation.
func (e *Engine) addSpare(round uint64, s *Stored) error {
	spare := members(e.spare, round)
	if old, ok := spare[s.Msg.Member]; ok {
		if old.Digest == s.Digest {
			return ErrDuplicate
		}
		return fmt.Errorf("%w: member %d, round %d: messages at three states", ErrEquivocation, s.Msg.Member, round)
	}
	spare[s.Msg.Member] = s
	e.byDig[s.Digest] = s
	return nil
}

// Lookup returns a held message by digest.
func (e *Engine) Lookup(d Digest) (*Stored, bool) {
	s, ok := e.byDig[d]
	return s, ok
}

// Held returns the messages held for round k, sorted by member.
func (e *Engine) Held(k uint64) []*Stored {
	var out []*Stored
	for _, s := range e.msgs[k] {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Stored) int { return a.Msg.Member - b.Msg.Member })
	return out
}

// Complete reports whether every sampled member's message for the current round is held.
func (e *Engine) Complete() bool {
	return len(e.msgs[e.state.Round]) == len(e.Plan(e.state.Round).Sample)
}

// Propose builds the leader's candidate for the current round from every message held.
func (e *Engine) Propose() (*Candidate, error) {
	held := e.Held(e.state.Round)
	inc := make([]Inclusion, len(held))
	for i, s := range held {
		inc[i] = Inclusion{Member: s.Msg.Member, Digest: s.Digest}
	}
	return e.derive(inc)
}

// Missing lists the included digests this peer does not hold.
func (e *Engine) Missing(included []Inclusion) []Digest {
	var out []Digest
	for _, in := range included {
		if _, ok := e.byDig[in.Digest]; !ok {
			out = append(out, in.Digest)
		}
	}
	return out
}

// Evaluate re-derives a proposal for the current round. It returns ErrMissing when messages must be
// fetched first, ErrMismatch when the leader's state digest is wrong, ErrBadProposal (or a method
// error) when the inclusion list itself is invalid.
func (e *Engine) Evaluate(round uint64, included []Inclusion, stateDigest Digest) (*Candidate, error) {
	if round != e.state.Round {
		return nil, fmt.Errorf("%w: round %d, deciding %d", ErrWrongRound, round, e.state.Round)
	}
	if id := ValueID(round, included, stateDigest); e.cands[id] != nil {
		return e.cands[id], nil
	}
	if m := e.Missing(included); len(m) > 0 {
		return nil, fmt.Errorf("%w: %d of %d", ErrMissing, len(m), len(included))
	}
	c, err := e.derive(included)
	if err != nil {
		return nil, err
	}
	if c.StateDigest != stateDigest {
		return nil, fmt.Errorf("%w: proposed %x, derived %x", ErrMismatch, stateDigest[:6], c.StateDigest[:6])
	}
	return c, nil
}

func (e *Engine) derive(included []Inclusion) (*Candidate, error) {
	msgs := make([]method.Message, len(included))
	for i, in := range included {
		s, ok := e.byDig[in.Digest]
		if !ok {
			return nil, fmt.Errorf("%w: %x", ErrMissing, in.Digest[:6])
		}
		if s.Msg.Member != in.Member {
			return nil, fmt.Errorf("%w: digest %x belongs to member %d, listed as %d", ErrBadProposal, in.Digest[:6], s.Msg.Member, in.Member)
		}
		if held := e.msgs[e.state.Round][in.Member]; held != s {
			return nil, fmt.Errorf("%w: message %x is not member %d's message of round %d", ErrBadProposal, in.Digest[:6], in.Member, e.state.Round)
		}
		msgs[i] = s.Msg
	}
	next, out, err := method.Step(&e.setup.Method, e.seed, e.state, msgs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProposal, err)
	}
	c := &Candidate{Round: e.state.Round, Included: slices.Clone(included), Next: next, StateDigest: next.Digest(), Outcome: out}
	e.cands[c.ValueID()] = c
	return c, nil
}

// Candidate returns a derived candidate by value id.
func (e *Engine) Candidate(id Digest) (*Candidate, bool) {
	c, ok := e.cands[id]
	return c, ok
}

// Commit makes a decided candidate the agreed state and forgets older rounds.
func (e *Engine) Commit(c *Candidate) error {
	if c.Round != e.state.Round {
		return fmt.Errorf("%w: committing round %d while deciding %d", ErrWrongRound, c.Round, e.state.Round)
	}
	e.Reset(c.Next)
	return nil
}

// Reset jumps to an agreed state (after a commit, or when catching up from a certificate).
func (e *Engine) Reset(st *method.State) {
	e.state, e.digest = st, st.Digest()
	for _, m := range []map[uint64]map[int]*Stored{e.msgs, e.spare} {
		for k, byMember := range m {
			if k < st.Round {
				for _, s := range byMember {
					delete(e.byDig, s.Digest)
				}
				delete(m, k)
			}
		}
	}
	// The messages held for the round now starting count only if computed at this state.
	cur, spare := e.msgs[st.Round], e.spare[st.Round]
	for member, s := range cur {
		if s.State != e.digest {
			delete(e.byDig, s.Digest)
			delete(cur, member)
		}
	}
	for member, s := range spare {
		if _, held := cur[member]; !held && s.State == e.digest {
			members(e.msgs, st.Round)[member] = s
			continue
		}
		delete(e.byDig, s.Digest)
	}
	delete(e.spare, st.Round)
	clear(e.cands)
}
