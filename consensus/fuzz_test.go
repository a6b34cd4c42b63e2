package consensus

import (
	"encoding/binary"
	"testing"
)

// byteReader hands out fuzz input a byte at a time (zeros once exhausted).
type byteReader struct {
	b []byte
	i int
}

func (r *byteReader) next() byte {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *byteReader) done() bool { return r.i >= len(r.b) }

// fuzzValue picks from a small set so that fuzzed votes collide with proposals often.
func fuzzValue(b byte) ValueID {
	if b%4 == 0 {
		return ValueID{}
	}
	return val(b % 4)
}

// machineHarness drives one machine from fuzz input and checks invariants after every step.
type machineHarness struct {
	t      *testing.T
	cfg    Config
	m      *Machine
	disk   *PersistentState
	signed map[slotKey]Message
	decide map[uint64]ValueID
}

func (h *machineHarness) drain() {
	for h.m.HasReady() {
		rd := h.m.Ready()
		if rd.Persist != nil {
			ps := *rd.Persist
			h.disk = &ps
			if _, err := New(h.cfg, &ps); err != nil {
				h.t.Fatalf("persisted state cannot be restored: %v\n%+v", err, ps)
			}
		}
		for _, msg := range rd.Messages {
			if msg.Sender() != h.cfg.Self {
				h.t.Fatalf("machine emitted a message of member %d", msg.Sender())
			}
			slot := slotOf(msg)
			if first, ok := h.signed[slot]; ok && !first.sameContent(msg) {
				h.t.Fatalf("conflicting messages signed: %+v and %+v", first, msg)
			}
			h.signed[slot] = msg
		}
		for _, d := range rd.Decisions {
			if err := CheckCertificate(d, h.cfg.N); err != nil {
				h.t.Fatalf("decision with bad certificate: %v", err)
			}
			if prev, ok := h.decide[d.Height]; ok && prev != d.Value {
				h.t.Fatalf("height %d decided %s then %s", d.Height, prev, d.Value)
			}
			h.decide[d.Height] = d.Value
		}
		for _, e := range rd.Evidence {
			if e.First.sameContent(e.Second) || slotOf(e.First) != slotOf(e.Second) || e.First.Sender() != e.Member {
				h.t.Fatalf("bogus evidence %+v", e)
			}
		}
		h.m.Advance(rd)
	}
	s := h.m.Status()
	if s.LockedRound > int32(s.Round) || s.ValidRound < s.LockedRound || (s.LockedRound == -1) != s.LockedValue.IsNil() ||
		(s.ValidRound == -1) != s.ValidValue.IsNil() {
		h.t.Fatalf("broken invariant: %+v", s)
	}
}

// FuzzMachine feeds arbitrary sequences of messages, ticks, values, height changes and restarts to a
// machine. It must never panic, never sign two different messages for one slot (across restarts),
// always persist a restorable state, and decide at most one value per height.
func FuzzMachine(f *testing.F) {
	f.Add([]byte{3, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 2, 20})
	f.Add([]byte{3, 1, 0, 1, 0, 1, 0, 1, 1, 2, 0, 1, 2, 1, 3, 2, 2, 5, 0, 2, 30, 5})
	f.Add([]byte{6, 2, 1, 0, 0, 5, 1, 1, 0, 1, 5, 1, 2, 0, 2, 9, 3, 4, 2, 5, 2, 40})
	f.Fuzz(runFuzzMachine)
}

// runFuzzMachine is FuzzMachine's body.
func runFuzzMachine(t *testing.T, data []byte) {
	r := &byteReader{b: data}
	n := 1 + int(r.next()%7)
	cfg := testConfig(int(r.next())%n, n)
	cfg.RebroadcastEvery = 7
	cfg.FutureBufferPerSender = 4
	h := &machineHarness{t: t, cfg: cfg, signed: make(map[slotKey]Message), decide: make(map[uint64]ValueID)}
	var err error
	if h.m, err = New(cfg, nil); err != nil {
		t.Fatal(err)
	}
	_ = h.m.StartHeight(0)
	h.drain()
	for steps := 0; !r.done() && steps < 400; steps++ {
		st := h.m.Status()
		height := st.Height + uint64(r.next()%3)
		if r.next()%8 == 0 && height > 0 {
			height--
		}
		round := uint32(r.next() % 6)
		switch r.next() % 7 {
		case 0, 1:
			_ = h.m.StepVote(Vote{Type: VoteType(r.next() % 3), Height: height, Round: round,
				Value: fuzzValue(r.next()), Voter: int(r.next()) % (n + 1)})
		case 2:
			proposer := cfg.Proposer(height, round)
			if r.next()%5 == 0 {
				proposer = int(r.next()) % (n + 1)
			}
			p := Proposal{Height: height, Round: round, POLRound: int32(r.next()%5) - 1, Value: fuzzValue(r.next()), Proposer: proposer}
			_ = h.m.StepProposal(p, r.next()%4 != 0)
		case 3:
			ticks(h.m, int(r.next()%24))
		case 4:
			_ = h.m.Propose(st.Height, st.Round, fuzzValue(r.next()))
		case 5:
			_ = h.m.StartHeight(st.Height + uint64(r.next()%2))
		case 6:
			if h.disk != nil {
				if h.m, err = New(cfg, h.disk); err != nil {
					t.Fatalf("restart: %v", err)
				}
			}
		}
		h.drain()
	}
}

// FuzzRestore builds a PersistentState from arbitrary bytes. New must reject or accept it without
// panicking, and an accepted state must never lead to a vote that conflicts with its LastSigned.
func FuzzRestore(f *testing.F) {
	f.Add([]byte{5, 2, 2, 1, 1, 1, 2, 4, 1, 1, 1, 1, 1, 2, 1, 1, 1, 2, 2, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &byteReader{b: data}
		cfg := testConfig(3, 4)
		var hb [8]byte
		hb[0] = r.next()
		ps := PersistentState{
			Height:      binary.LittleEndian.Uint64(hb[:]),
			Round:       uint32(r.next() % 8),
			Step:        Step(r.next() % 4),
			LockedRound: int32(r.next()%8) - 2,
			LockedValue: fuzzValue(r.next()),
			ValidRound:  int32(r.next()%8) - 2,
			ValidValue:  fuzzValue(r.next()),
		}
		for k := int(r.next() % 6); k > 0; k-- {
			ps.LastSigned = append(ps.LastSigned, Vote{Type: VoteType(r.next() % 3), Height: ps.Height + uint64(r.next()%2),
				Round: uint32(r.next() % 8), Value: fuzzValue(r.next()), Voter: 3 - int(r.next()%2)})
		}
		for k := int(r.next() % 3); k > 0; k-- {
			ps.OwnProposals = append(ps.OwnProposals, Proposal{Height: ps.Height, Round: uint32(r.next() % 8),
				POLRound: int32(r.next()%4) - 1, Value: fuzzValue(r.next()), Proposer: 3})
		}
		if r.next()%4 == 0 {
			d := Decision{Height: ps.Height, Round: uint32(r.next() % 4), Value: fuzzValue(r.next())}
			for k := int(r.next() % 5); k > 0; k-- {
				d.Certificate = append(d.Certificate, pc(ps.Height, d.Round, d.Value, int(r.next()%5)))
			}
			ps.Decision = &d
		}
		m, err := New(cfg, &ps)
		if err != nil {
			return
		}
		h := &machineHarness{t: t, cfg: cfg, m: m, signed: make(map[slotKey]Message), decide: make(map[uint64]ValueID)}
		for _, v := range ps.LastSigned {
			h.signed[slotOf(VoteMessage(v))] = VoteMessage(v)
		}
		for _, p := range ps.OwnProposals {
			h.signed[slotOf(ProposalMessage(p))] = ProposalMessage(p)
		}
		h.drain()
		// Offer every value in every recent attempt: nothing may contradict what was signed.
		for round := uint32(0); round <= ps.Round+1; round++ {
			for _, v := range []ValueID{nilV, val(1), val(2), val(3)} {
				for voter := range 3 {
					_ = m.StepVote(pv(ps.Height, round, v, voter))
					_ = m.StepVote(pc(ps.Height, round, v, voter))
				}
				if !v.IsNil() {
					_ = m.StepProposal(prop(ps.Height, round, -1, v, cfg.Proposer(ps.Height, round)), true)
				}
				ticks(m, 3)
				h.drain()
			}
		}
	})
}
