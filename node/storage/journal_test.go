package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/byzpp/byzpp/consensus"
)

func TestJournalKeepsLatestOfEachKind(t *testing.T) {
	dir := t.TempDir()
	s := &Store{dir: dir}
	for h := range uint64(5) {
		if err := s.SaveState([]byte{byte(h), 1, 2}); err != nil {
			t.Fatal(err)
		}
		ps := &consensus.PersistentState{Height: h, Round: 1, LockedRound: -1, ValidRound: -1}
		if err := s.SaveConsensus(ps); err != nil {
			t.Fatal(err)
		}
	}
	s.Close(true)
	l, err := (&Store{dir: dir}).Load()
	state, cons := l.State, l.Consensus
	if err != nil {
		t.Fatal(err)
	}
	ps, err := consensus.DecodePersistentState(cons)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(state, []byte{4, 1, 2}) || ps.Height != 4 {
		t.Fatalf("Loaded state %v, consensus height %d; want the last ones", state, ps.Height)
	}
}

func TestJournalDropsTornTail(t *testing.T) {
	dir := t.TempDir()
	s := &Store{dir: dir}
	for _, p := range [][]byte{[]byte("first"), []byte("second")} {
		if err := s.SaveState(p); err != nil {
			t.Fatal(err)
		}
	}
	s.Close(true)
	path := filepath.Join(dir, JournalFile)
	full, _ := os.ReadFile(path)
	last := recordHeader + len("second")
	for cut := 1; cut < last; cut += 7 {
		torn := full[:len(full)-cut]
		if err := os.WriteFile(path, torn, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := (&Store{dir: dir}).Load()
		state := l.State
		if err != nil || string(state) != "first" {
			t.Fatalf("cut %d: Loaded %q, %v; want the record before the torn one", cut, state, err)
		}
	}
	// A flipped payload byte in the last record is a torn record too.
	bad := bytes.Clone(full)
	bad[len(bad)-1] ^= 1
	_ = os.WriteFile(path, bad, 0o600)
	// Appending after a torn tail truncates it first, so the new record is readable.
	s = &Store{dir: dir}
	if err := s.SaveState([]byte("third")); err != nil {
		t.Fatal(err)
	}
	s.Close(true)
	if l, err := (&Store{dir: dir}).Load(); err != nil || string(l.State) != "third" {
		t.Fatalf("after append: %q, %v", l.State, err)
	}
}

func TestJournalCompacts(t *testing.T) {
	dir := t.TempDir()
	s := &Store{dir: dir}
	big := bytes.Repeat([]byte{9}, 100<<10)
	if err := s.SaveConsensus(&consensus.PersistentState{Height: 3, LockedRound: -1, ValidRound: -1}); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		big[0] = byte(i)
		if err := s.SaveState(bytes.Clone(big)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close(true)
	info, err := os.Stat(filepath.Join(dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > journalCompactAt+int64(len(big))+recordHeader {
		t.Fatalf("journal is %d bytes: never compacted", info.Size())
	}
	l, err := (&Store{dir: dir}).Load()
	state, cons := l.State, l.Consensus
	if err != nil || len(state) != len(big) || state[0] != 29 || cons == nil {
		t.Fatalf("after compaction: state %d bytes (first %v), consensus %v, %v", len(state), state[:1], cons != nil, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestJournalFallsBackToCheckedFilesAndRejectsBadHeader(t *testing.T) {
	dir := t.TempDir()
	if err := WriteChecked(filepath.Join(dir, StateFile), []byte("old state")); err != nil {
		t.Fatal(err)
	}
	s := &Store{dir: dir}
	if err := s.SaveConsensus(&consensus.PersistentState{Height: 1, LockedRound: -1, ValidRound: -1}); err != nil {
		t.Fatal(err)
	}
	s.Close(true)
	l, err := s.Load()
	state, cons := l.State, l.Consensus
	if err != nil || string(state) != "old state" || cons == nil {
		t.Fatalf("got %q, %v, %v", state, cons != nil, err)
	}
	_ = os.WriteFile(filepath.Join(dir, JournalFile), []byte("not a journal"), 0o600)
	if _, err := s.Load(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad header: %v, want ErrCorrupt", err)
	}
}

// FuzzJournal: any file content either fails with ErrCorrupt or yields records that re-encode to a
// prefix of the file.
func FuzzJournal(f *testing.F) {
	f.Add([]byte(journalMagic))
	f.Add(append([]byte(journalMagic), encodeRecord(kindState, []byte("abc"))...))
	f.Add(append(append([]byte(journalMagic), encodeRecord(kindConsensus, nil)...), 1, 2, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), JournalFile)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		latest, valid, err := readJournal(path)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if valid < int64(len(journalMagic)) || valid > int64(len(data)) {
			t.Fatalf("valid prefix %d of %d bytes", valid, len(data))
		}
		// A tail that holds a whole record cannot be a torn append.
		if tail := data[valid:]; len(tail) >= recordHeader && tornAppend(tail) {
			if size := binary.LittleEndian.Uint32(tail); uint64(len(tail)) >= uint64(recordHeader)+uint64(size) {
				t.Fatalf("a tail of %d bytes holding a whole %d-byte record called torn", len(tail), size)
			}
		}
		off := len(journalMagic)
		for off < int(valid) {
			kind, payload, n, ok := parseRecord(data[off:valid])
			if !ok || !bytes.Equal(encodeRecord(kind, payload), data[off:off+n]) {
				t.Fatalf("record at %d does not re-encode", off)
			}
			off += n
		}
		for k, p := range latest {
			if p != nil && (k == 0 || k >= numKinds) {
				t.Fatalf("payload of unknown kind %d", k)
			}
		}
	})
}

func TestJournalSyncsOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	s := &Store{dir: dir, boot: "this-boot"}
	if err := s.sync(); err != nil { // nothing opened yet
		t.Fatal(err)
	}
	if err := s.SaveState([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if !s.j.dirty {
		t.Fatal("an appended record is not pending a sync")
	}
	if err := s.sync(); err != nil || s.j.dirty {
		t.Fatalf("sync: %v, still dirty %v", err, s.j.dirty)
	}
	// Records appended since are written in one go before anything leaves (BeforeSend): until then a
	// restarting process does not see them (nothing sent depends on them), after it it does, synced
	// or not (the page cache survives a process crash; only a machine crash can lose them).
	if err := s.SaveState([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveState([]byte("c")); err != nil {
		t.Fatal(err)
	}
	if l, err := (&Store{dir: dir}).Load(); err != nil || string(l.State) != "a" {
		t.Fatalf("before BeforeSend: loaded %q, %v; want the last flushed state", l.State, err)
	}
	if err := s.BeforeSend(); err != nil {
		t.Fatal(err)
	}
	if !s.j.dirty {
		t.Fatal("BeforeSend synced although the boot can be told")
	}
	if l, err := (&Store{dir: dir}).Load(); err != nil || string(l.State) != "c" {
		t.Fatalf("after BeforeSend: loaded %q, %v", l.State, err)
	}
	s.Close(true)
}

// TestTornAppend: what a crash mid-append can leave (an incomplete record) is told apart from damage
// (a complete record failing its checksum, an impossible header), which makes a peer abstain.
func TestTornAppend(t *testing.T) {
	rec := encodeRecord(kindState, []byte("payload bytes"))
	flipped := bytes.Clone(rec)
	flipped[len(flipped)-1] ^= 1
	huge := bytes.Clone(rec)
	huge[3] = 0xff // length far above maxJournalRecord
	for _, c := range []struct {
		name string
		tail []byte
		torn bool
	}{
		{"one byte of a length", rec[:1], true},
		{"length and kind only", rec[:5], true},
		{"header without its whole payload", rec[:recordHeader+3], true},
		{"all but the last payload byte", rec[:len(rec)-1], true},
		{"complete record failing its checksum", flipped, false},
		{"complete record followed by more", append(bytes.Clone(flipped), rec...), false},
		{"unknown kind", append([]byte{3, 0, 0, 0, 9}, make([]byte, 40)...), false},
		{"impossible length", huge, false},
	} {
		if got := tornAppend(c.tail); got != c.torn {
			t.Errorf("%s: tornAppend = %v, want %v", c.name, got, c.torn)
		}
	}
}

func TestMayHaveLostRecords(t *testing.T) {
	for _, c := range []struct {
		name        string
		rec         []byte
		now         string
		mayHaveLost bool
	}{
		{"no boot record (synced before every send)", nil, "b1", false},
		{"opened in this boot", bootRecord(bootOpened, "b1"), "b1", false},
		{"opened in another boot", bootRecord(bootOpened, "b0"), "b1", true},
		{"opened, boot unknown now", bootRecord(bootOpened, "b0"), "", true},
		{"closed cleanly, then a reboot", bootRecord(bootClosed, "b0"), "b1", false},
		{"unknown record", []byte("something else"), "b1", true},
	} {
		if got := mayHaveLostRecords(c.rec, c.now); got != c.mayHaveLost {
			t.Errorf("%s: got %v, want %v", c.name, got, c.mayHaveLost)
		}
	}
}

// TestJournalBootRecords: a journal remembers the boot it was opened in; records written and not
// synced read back in the same boot; after a reboot they may be lost unless the store was closed
// cleanly; where the boot is unknown, every send is preceded by a sync.
func TestJournalBootRecords(t *testing.T) {
	dir := t.TempDir()
	s := &Store{dir: dir, boot: "b1"}
	if err := s.SaveState([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.BeforeSend(); err != nil || !s.j.dirty {
		t.Fatalf("beforeSend with a known boot: %v, dirty %v (want no sync)", err, s.j.dirty)
	}
	for _, c := range []struct {
		boot        string
		mayHaveLost bool
	}{{"b1", false}, {"b2", true}} {
		l, err := (&Store{dir: dir, boot: c.boot}).Load()
		if err != nil || string(l.State) != "a" || l.MayHaveLost != c.mayHaveLost {
			t.Errorf("read in boot %s: %q, lost %v, %v; want %q, %v", c.boot, l.State, l.MayHaveLost, err, "a", c.mayHaveLost)
		}
	}
	if err := s.SyncIfDue(s.lastSync.Add(groupSyncEvery / 2)); err != nil || !s.j.dirty {
		t.Fatalf("synced before groupSyncEvery: %v, dirty %v", err, s.j.dirty)
	}
	if err := s.SyncIfDue(s.lastSync.Add(groupSyncEvery)); err != nil || s.j.dirty {
		t.Fatalf("not synced after groupSyncEvery: %v, dirty %v", err, s.j.dirty)
	}
	s.Close(true)
	if l, err := (&Store{dir: dir, boot: "b2"}).Load(); err != nil || l.MayHaveLost {
		t.Errorf("after a clean close and a reboot: lost %v, %v", l.MayHaveLost, err)
	}
	// Reopened in the new boot, then a crash (no clean close) and another reboot.
	s = &Store{dir: dir, boot: "b2"}
	if err := s.SaveState([]byte("b")); err != nil {
		t.Fatal(err)
	}
	s.Close(false)
	if l, err := (&Store{dir: dir, boot: "b3"}).Load(); err != nil || !l.MayHaveLost {
		t.Errorf("after a crash and a reboot: lost %v, %v", l.MayHaveLost, err)
	}
	strict := &Store{dir: t.TempDir()}
	if err := strict.SaveState([]byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := strict.BeforeSend(); err != nil || strict.j.dirty {
		t.Fatalf("beforeSend with an unknown boot: %v, dirty %v (want a sync)", err, strict.j.dirty)
	}
	strict.Close(true)
	if l, err := (&Store{dir: strict.dir}).Load(); err != nil || l.MayHaveLost {
		t.Errorf("a journal synced before every send: lost %v, %v", l.MayHaveLost, err)
	}
}
