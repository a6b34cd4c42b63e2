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
		LockedValue: ValueID{9}, LockedRound: 1, ValidValue: ValueID{8}, ValidRound: -1,
		LastSigned:   []Vote{v(Prevote, 3, 1), v(Precommit, 3, 1)},
		OwnProposals: []Proposal{{Height: 7, Round: 2, POLRound: -1, Value: ValueID{5}, Proposer: 3}},
		Decision:     &Decision{Height: 7, Round: 2, Value: ValueID{1, 2, 3}, Certificate: []Vote{v(Precommit, 0, 1), v(Precommit, 3, 1)}},
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
		{"wrong version", with(1, 2)},
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
	nd[len(nd)-1] = 2
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
		if !bytes.Equal(again, data) {
			t.Fatalf("non-canonical input accepted:\n in  %x\n out %x", data, again)
		}
	})
}
