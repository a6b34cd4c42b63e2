package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The journal is where a running peer persists: an append-only file of checksummed records, each the
// latest value of one kind (the decided state, the consensus state). A peer persists several times
// per round (before every message it signs, and every decision), always before sending, so the write
// sits on the round's critical path. Rewriting a file atomically costs create, write, fsync, rename
// and a directory fsync — measured at about 22% of a peer's CPU on a 20-peer loopback testnet, and
// more in wall time. Appending one record is the least a write can cost, and one fdatasync makes
// every record appended since the last one durable: before the loop sends anything where the boot of
// the machine cannot be told, in the background otherwise (durability.go).
//
// Record: uint32 little-endian payload length || kind byte || SHA-256(kind || payload) || payload.
// A crash mid-append leaves a torn last record, which fails its checksum; reading stops at the first
// record that does not check out and the file is truncated there before new appends. That record's
// write never returned, so nothing that depended on it was sent. When the file outgrows
// journalCompactAt it is rewritten (atomically, like the checked files) holding only the latest record
// of each kind.

const (
	journalMagic     = "byzpp-journal-v1\n"
	journalCompactAt = 1 << 20
	// maxJournalRecord bounds one record's length field before anything is allocated for it.
	maxJournalRecord = 256 << 20
	recordHeader     = 4 + 1 + sha256.Size
)

// Record kinds.
const (
	kindState     byte = 1 // encoded wire.StateResponse of the last decided round
	kindConsensus byte = 2 // consensus.PersistentState (MarshalBinary; JSON in earlier versions)
	kindBoot      byte = 3 // bootRecord: which boot of the machine last opened or cleanly closed the journal
	kindProof     byte = 4 // the signed envelopes of the proof of lock (encodeEnvelopes)
	numKinds           = 5
)

// journal is an open journal file positioned at its end.
type journal struct {
	path   string
	f      *os.File
	size   int64
	latest [numKinds][]byte // last payload of each kind, for compaction
	dirty  bool             // records appended since the last sync
	// pending holds records appended since the last flush, written in one write(2) by flush: a
	// height's three to five records then cost one system call (the store flushes before anything
	// leaves, so a process crash loses only records nothing sent depends on).
	pending []byte
}

// readJournal returns the latest payload of each kind in the journal at path and the length of its
// valid prefix; a missing file reads as empty with length 0.
func readJournal(path string) (latest [numKinds][]byte, valid int64, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return latest, 0, nil
	}
	if err != nil {
		return latest, 0, err
	}
	if !bytes.HasPrefix(b, []byte(journalMagic)) {
		return latest, 0, fmt.Errorf("%w: %s has no valid header", ErrCorrupt, path)
	}
	off := len(journalMagic)
	for {
		kind, payload, n, ok := parseRecord(b[off:])
		if !ok {
			break
		}
		latest[kind] = payload
		off += n
	}
	return latest, int64(off), nil
}

// tornAppend reports whether tail, the bytes after a journal's last intact record, can be what a
// crash in the middle of appending one record leaves: an incomplete header, or a plausible header
// whose payload is cut short. Such a record was never synced, so nothing that depended on it was
// sent. Anything else — a complete record failing its checksum, an impossible header — is damage to
// bytes that may have been synced.
func tornAppend(tail []byte) bool {
	if len(tail) < 5 {
		return true
	}
	size := binary.LittleEndian.Uint32(tail)
	kind := tail[4]
	if size > maxJournalRecord || kind == 0 || kind >= numKinds {
		return false
	}
	return uint64(len(tail)) < uint64(recordHeader)+uint64(size)
}

// parseRecord decodes the record at the start of b; ok is false for a torn, corrupt or unknown record.
func parseRecord(b []byte) (kind byte, payload []byte, n int, ok bool) {
	if len(b) < recordHeader {
		return 0, nil, 0, false
	}
	size := binary.LittleEndian.Uint32(b)
	kind = b[4]
	if size > maxJournalRecord || kind == 0 || kind >= numKinds || uint64(len(b)-recordHeader) < uint64(size) {
		return 0, nil, 0, false
	}
	payload = b[recordHeader : recordHeader+int(size)]
	if recordSum(kind, payload) != [sha256.Size]byte(b[5:recordHeader]) {
		return 0, nil, 0, false
	}
	return kind, payload, recordHeader + int(size), true
}

func recordSum(kind byte, payload []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte{kind})
	h.Write(payload)
	return [sha256.Size]byte(h.Sum(nil))
}

func encodeRecord(kind byte, payload []byte) []byte {
	return appendRecord(make([]byte, 0, recordHeader+len(payload)), kind, payload)
}

// appendRecord appends the record of kind with payload to b.
func appendRecord(b []byte, kind byte, payload []byte) []byte {
	var h [recordHeader]byte
	binary.LittleEndian.PutUint32(h[:], uint32(len(payload)))
	h[4] = kind
	sum := recordSum(kind, payload)
	copy(h[5:], sum[:])
	return append(append(b, h[:]...), payload...)
}

// openJournal opens (creating if needed) the journal in dir for appending, dropping a torn tail.
func openJournal(dir string) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, JournalFile)
	latest, valid, err := readJournal(path)
	if err != nil {
		return nil, err
	}
	if valid == 0 {
		// New journal: create it whole and durable before appending to it.
		if err := writeJournal(path, latest); err != nil {
			return nil, err
		}
		valid = int64(len(journalMagic))
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(valid); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(valid, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &journal{path: path, f: f, size: valid, latest: latest}, nil
}

// writeJournal atomically replaces the journal at path with one holding the given latest payloads.
func writeJournal(path string, latest [numKinds][]byte) error {
	buf := []byte(journalMagic)
	for k, p := range latest {
		if p != nil {
			buf = append(buf, encodeRecord(byte(k), p)...)
		}
	}
	return writeAtomic(path, buf)
}

// append adds a record of kind with payload; a restarted process reads it after the next flush, a
// restarted machine after the next sync.
func (j *journal) append(kind byte, payload []byte) error {
	if j.size >= journalCompactAt {
		if err := j.compact(); err != nil {
			return err
		}
	}
	n := len(j.pending)
	j.pending = appendRecord(j.pending, kind, payload)
	j.size += int64(len(j.pending) - n)
	j.latest[kind] = payload
	j.dirty = true
	return nil
}

// flush writes the pending records to the file.
func (j *journal) flush() error {
	if len(j.pending) == 0 {
		return nil
	}
	if _, err := j.f.Write(j.pending); err != nil {
		return err
	}
	if cap(j.pending) > 1<<16 {
		j.pending = nil // a large state record: do not keep its buffer
	} else {
		j.pending = j.pending[:0]
	}
	return nil
}

// sync flushes the records appended since the last sync to stable storage.
func (j *journal) sync() error {
	if err := j.flush(); err != nil {
		return err
	}
	if !j.dirty {
		return nil
	}
	if err := datasync(j.f); err != nil {
		return err
	}
	j.dirty = false
	return nil
}

// compact rewrites the journal with only the latest record of each kind (durably) and reopens it.
func (j *journal) compact() error {
	if err := writeJournal(j.path, j.latest); err != nil {
		return err
	}
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	j.f.Close()
	j.f, j.size, j.dirty = f, st.Size(), false
	j.pending = j.pending[:0] // the rewrite holds their payloads (latest)
	return nil
}

func (j *journal) close() error {
	err := j.flush()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}
