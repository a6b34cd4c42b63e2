package node

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
	s := &store{dir: dir}
	for h := range uint64(5) {
		if err := s.saveState([]byte{byte(h), 1, 2}); err != nil {
			t.Fatal(err)
		}
		ps := &consensus.PersistentState{Height: h, Round: 1, LockedRound: -1, ValidRound: -1}
		if err := s.saveConsensus(ps); err != nil {
			t.Fatal(err)
		}
	}
	s.close(true)
	l, err := (&store{dir: dir}).load()
	state, cons := l.state, l.cons
	if err != nil {
		t.Fatal(err)
	}
	ps, err := consensus.DecodePersistentState(cons)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(state, []byte{4, 1, 2}) || ps.Height != 4 {
		t.Fatalf("loaded state %v, consensus height %d; want the last ones", state, ps.Height)
	}
}

func TestJournalDropsTornTail(t *testing.T) {
	dir := t.TempDir()
	s := &store{dir: dir}
	for _, p := range [][]byte{[]byte("first"), []byte("second")} {
		if err := s.saveState(p); err != nil {
			t.Fatal(err)
		}
	}
	s.close(true)
	path := filepath.Join(dir, journalFile)
	full, _ := os.ReadFile(path)
	last := recordHeader + len("second")
	for cut := 1; cut < last; cut += 7 {
		torn := full[:len(full)-cut]
		if err := os.WriteFile(path, torn, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := (&store{dir: dir}).load()
		state := l.state
		if err != nil || string(state) != "first" {
			t.Fatalf("cut %d: loaded %q, %v; want the record before the torn one", cut, state, err)
		}
	}
	// A flipped payload byte in the last record is a torn record too.
	bad := bytes.Clone(full)
	bad[len(bad)-1] ^= 1
	_ = os.WriteFile(path, bad, 0o600)
	// Appending after a torn tail truncates it first, so the new record is readable.
	s = &store{dir: dir}
	if err := s.saveState([]byte("third")); err != nil {
		t.Fatal(err)
	}
	s.close(true)
	if l, err := (&store{dir: dir}).load(); err != nil || string(l.state) != "third" {
		t.Fatalf("after append: %q, %v", l.state, err)
	}
}

func TestJournalCompacts(t *testing.T) {
	dir := t.TempDir()
	s := &store{dir: dir}
	big := bytes.Repeat([]byte{9}, 100<<10)
	if err := s.saveConsensus(&consensus.PersistentState{Height: 3, LockedRound: -1, ValidRound: -1}); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		big[0] = byte(i)
		if err := s.saveState(bytes.Clone(big)); err != nil {
			t.Fatal(err)
		}
	}
	s.close(true)
	info, err := os.Stat(filepath.Join(dir, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > journalCompactAt+int64(len(big))+recordHeader {
		t.Fatalf("journal is %d bytes: never compacted", info.Size())
	}
	l, err := (&store{dir: dir}).load()
	state, cons := l.state, l.cons
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
	if err := writeChecked(filepath.Join(dir, stateFile), []byte("old state")); err != nil {
		t.Fatal(err)
	}
	s := &store{dir: dir}
	if err := s.saveConsensus(&consensus.PersistentState{Height: 1, LockedRound: -1, ValidRound: -1}); err != nil {
		t.Fatal(err)
	}
	s.close(true)
	l, err := s.load()
	state, cons := l.state, l.cons
	if err != nil || string(state) != "old state" || cons == nil {
		t.Fatalf("got %q, %v, %v", state, cons != nil, err)
	}
	_ = os.WriteFile(filepath.Join(dir, journalFile), []byte("not a journal"), 0o600)
	if _, err := s.load(); !errors.Is(err, ErrCorrupt) {
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
		path := filepath.Join(t.TempDir(), journalFile)
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
	s := &store{dir: dir}
	if err := s.sync(); err != nil { // nothing opened yet
		t.Fatal(err)
	}
	if err := s.saveState([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if !s.j.dirty {
		t.Fatal("an appended record is not pending a sync")
	}
	if err := s.sync(); err != nil || s.j.dirty {
		t.Fatalf("sync: %v, still dirty %v", err, s.j.dirty)
	}
	// Records written but not yet synced are still read back by a restarting process (the page cache
	// survives a process crash; only a machine crash can lose them, see store.sync).
	if err := s.saveState([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if l, err := (&store{dir: dir}).load(); err != nil || string(l.state) != "b" {
		t.Fatalf("loaded %q, %v", l.state, err)
	}
	s.close(true)
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
	s := &store{dir: dir, boot: "b1"}
	if err := s.saveState([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.beforeSend(); err != nil || !s.j.dirty {
		t.Fatalf("beforeSend with a known boot: %v, dirty %v (want no sync)", err, s.j.dirty)
	}
	for _, c := range []struct {
		boot        string
		mayHaveLost bool
	}{{"b1", false}, {"b2", true}} {
		l, err := (&store{dir: dir, boot: c.boot}).load()
		if err != nil || string(l.state) != "a" || l.mayHaveLost != c.mayHaveLost {
			t.Errorf("read in boot %s: %q, lost %v, %v; want %q, %v", c.boot, l.state, l.mayHaveLost, err, "a", c.mayHaveLost)
		}
	}
	if err := s.syncIfDue(s.lastSync.Add(groupSyncEvery / 2)); err != nil || !s.j.dirty {
		t.Fatalf("synced before groupSyncEvery: %v, dirty %v", err, s.j.dirty)
	}
	if err := s.syncIfDue(s.lastSync.Add(groupSyncEvery)); err != nil || s.j.dirty {
		t.Fatalf("not synced after groupSyncEvery: %v, dirty %v", err, s.j.dirty)
	}
	s.close(true)
	if l, err := (&store{dir: dir, boot: "b2"}).load(); err != nil || l.mayHaveLost {
		t.Errorf("after a clean close and a reboot: lost %v, %v", l.mayHaveLost, err)
	}
	// Reopened in the new boot, then a crash (no clean close) and another reboot.
	s = &store{dir: dir, boot: "b2"}
	if err := s.saveState([]byte("b")); err != nil {
		t.Fatal(err)
	}
	s.close(false)
	if l, err := (&store{dir: dir, boot: "b3"}).load(); err != nil || !l.mayHaveLost {
		t.Errorf("after a crash and a reboot: lost %v, %v", l.mayHaveLost, err)
	}
	strict := &store{dir: t.TempDir()}
	if err := strict.saveState([]byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := strict.beforeSend(); err != nil || strict.j.dirty {
		t.Fatalf("beforeSend with an unknown boot: %v, dirty %v (want a sync)", err, strict.j.dirty)
	}
	strict.close(true)
	if l, err := (&store{dir: strict.dir}).load(); err != nil || l.mayHaveLost {
		t.Errorf("a journal synced before every send: lost %v, %v", l.mayHaveLost, err)
	}
}
