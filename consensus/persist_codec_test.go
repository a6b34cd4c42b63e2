package consensus

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func samplePersistent() *PersistentState {
	v := func(t VoteType, voter int, b byte) Vote {
		return Vote{Type: t, Height: 7, Round: 2, Value: ValueID{b, 2, 3}, Voter: voter}
	}
	return &PersistentState{
		Height: 7, Round: 2, Step: StepPrecommit,
		LockedValue: ValueID{9}, LockedRound: 1, ValidValue: ValueID{8}, ValidRound: 1,
		LastSigned:   []Vote{v(Prevote, 3, 1), v(Precommit, 3, 1)},
		OwnProposals: []Proposal{{Height: 7, Round: 2, POLRound: -1, Value: ValueID{5}, Proposer: 3}},
		Decision:     &Decision{Height: 7, Round: 2, Value: ValueID{1, 2, 3}, Certificate: []Vote{v(Precommit, 0, 1), v(Precommit, 3, 1)}},
		ProofOfLock: []Vote{{Type: Prevote, Height: 7, Round: 1, Value: ValueID{8}, Voter: 0},
			{Type: Prevote, Height: 7, Round: 1, Value: ValueID{8}, Voter: 2}},
	}
}

// TestPersistentVersion1: what the version without a proof of lock wrote still reads.
func TestPersistentVersion1(t *testing.T) {
	ps := samplePersistent()
	ps.ProofOfLock = nil
	raw, err := ps.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	v1 := bytes.Clone(raw[:len(raw)-2]) // no proof-of-lock count
	v1[1] = 1
	got, err := DecodePersistentState(v1)
	if err != nil || !reflect.DeepEqual(got, ps) {
		t.Fatalf("version 1: %+v, %v", got, err)
	}
}

// TestPersistentRoundTrip: the binary form reads back equal, and the JSON earlier versions wrote is
// still read.
func TestPersistentRoundTrip(t *testing.T) {
	for _, ps := range []*PersistentState{samplePersistent(), {Height: 1, LockedRound: -1, ValidRound: -1}} {
		raw, err := ps.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodePersistentState(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ps) {
			t.Fatalf("round trip:\n got  %+v\n want %+v", got, ps)
		}
		js, err := json.Marshal(ps)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := DecodePersistentState(js); err != nil || !reflect.DeepEqual(got, ps) {
			t.Fatalf("from JSON: %+v, %v", got, err)
		}
	}
}

func TestPersistentRejects(t *testing.T) {
	raw, err := samplePersistent().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	with := func(i int, b byte) []byte { c := bytes.Clone(raw); c[i] = b; return c }
	headerLen := 2 + 8 + 4 + 1 + 2*(32+4)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"wrong magic", with(0, 'X')},
		{"wrong version", with(1, 3)},
		{"version 0", with(1, 0)},
		{"truncated", raw[:len(raw)-1]},
		{"trailing byte", append(bytes.Clone(raw), 0)},
		{"vote count beyond the input", with(headerLen, 0x7f)},
		{"bad JSON", []byte(`{"Height":`)},
	} {
		if _, err := DecodePersistentState(c.data); !errors.Is(err, ErrBadPersistent) {
			t.Errorf("%s: got %v, want ErrBadPersistent", c.name, err)
		}
	}
	noDecision := *samplePersistent()
	noDecision.Decision = nil
	nd, err := noDecision.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	nd[len(nd)-1-2-voteSize*len(noDecision.ProofOfLock)] = 2 // before the proof of lock
	if _, err := DecodePersistentState(nd); !errors.Is(err, ErrBadPersistent) {
		t.Errorf("decision flag 2: %v", err)
	}
}

// FuzzDecodePersistentState: any input decodes without panicking, and binary input that decodes
// re-encodes to the same bytes.
func FuzzDecodePersistentState(f *testing.F) {
	raw, err := samplePersistent().MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(raw[:40])
	f.Add([]byte(`{"Height":3,"LockedRound":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := DecodePersistentState(data)
		if err != nil || (len(data) > 0 && data[0] == '{') {
			return
		}
		again, err := ps.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded state does not re-encode: %v", err)
		}
		if data[1] == persistVersion && !bytes.Equal(again, data) { // version 1 re-encodes as 2
			t.Fatalf("non-canonical input accepted:\n in  %x\n out %x", data, again)
		}
	})
}
