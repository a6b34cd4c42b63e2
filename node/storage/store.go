package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/byzpp/byzpp/consensus"
)

// ErrCorrupt is wrapped when a persisted file fails its checksum or framing.
var ErrCorrupt = errors.New("node: persisted file is corrupt")

// The files of a StateDir this package owns. Their names and formats are fixed: StateDirs written by
// earlier versions must load.
const (
	JournalFile   = "journal.bin"    // the journal (journal.go): what a running peer appends
	StateFile     = "state.bin"      // legacy checked file: the last decided state (wire.StateResponse)
	ConsensusFile = "consensus.json" // legacy checked file: consensus.PersistentState
	fileMagic     = "byzpp-persist-v1\n"
)

// Store keeps a peer's state in a directory: a running peer appends to the journal (journal.go); the
// checked files are what earlier versions wrote, still read when the journal lacks a kind. A checked
// file is magic || SHA-256(payload) || payload, written to a temporary file, fsynced and renamed, so
// a crash leaves either the old or the new file. A Store is used by one goroutine (the node's event
// loop).
type Store struct {
	dir string
	j   *journal // opened on the first save
	// boot is the running boot of the machine ("" if it cannot be told: then every send is preceded
	// by a sync); see durability.go.
	boot     string
	lastSync time.Time
	// signBound is the durable sign bound (signbound.go), read on first use.
	signBound   uint64
	boundRead   bool
	boundStride uint64 // signBoundStride unless a test sets it (SetSignBoundStride)
}

// Open returns the store of the state directory dir. It reads only the machine's boot id: the
// directory is created and the journal opened by the first save, and nothing is read before Load.
func Open(dir string) *Store { return &Store{dir: dir, boot: readBootID()} }

// Dir is the state directory, for files other packages keep in it with WriteChecked (the node's
// member history).
func (s *Store) Dir() string { return s.dir }

// SaveState appends the encoded wire.StateResponse of the last decided round.
func (s *Store) SaveState(raw []byte) error { return s.append(kindState, raw) }

// SaveConsensus appends the consensus state (votes and lock at the current height).
func (s *Store) SaveConsensus(ps *consensus.PersistentState) error {
	b, err := ps.MarshalBinary()
	if err != nil {
		return err
	}
	return s.append(kindConsensus, b)
}

// append adds a record: a restart of the process reads it back once BeforeSend (or a sync) has
// written it, a restart of the machine once a sync has made it durable.
func (s *Store) append(kind byte, payload []byte) error {
	if s.j == nil {
		j, err := openJournal(s.dir)
		if err != nil {
			return err
		}
		s.j = j
		if s.boot != "" {
			// Which boot wrote what follows, durably before any of it (durability.go).
			if err := s.j.append(kindBoot, bootRecord(bootOpened, s.boot)); err != nil {
				return err
			}
			if err := s.sync(); err != nil {
				return err
			}
		}
	}
	return s.j.append(kind, payload)
}

// BeforeSend makes what the loop persisted safe to act on before a message leaves: a sync where the
// boot cannot be told, otherwise one write of the records appended since the last (durability.go). A crash that loses records written since
// the last sync loses only state changes no other member has seen a consequence of (nothing was sent
// after them), which is the same as this peer never having processed the inputs behind them — a
// message loss, which the protocol tolerates. It saves the fsyncs of the transitions that send
// nothing (a decision, the decided state, the start of the next height) on every round's critical
// path.
func (s *Store) BeforeSend() error {
	if s.boot != "" {
		if s.j == nil {
			return nil
		}
		return s.j.flush() // records reach the page cache before the messages they allow leave
	}
	return s.sync()
}

// SyncIfDue syncs when records wait and the last sync is groupSyncEvery old (the loop calls it on
// every tick).
func (s *Store) SyncIfDue(now time.Time) error {
	if s.j == nil || !s.j.dirty || now.Sub(s.lastSync) < groupSyncEvery {
		return nil
	}
	return s.sync()
}

// sync makes every record appended so far durable.
func (s *Store) sync() error {
	if s.j == nil {
		return nil
	}
	if err := s.j.sync(); err != nil {
		return err
	}
	s.lastSync = time.Now()
	return nil
}

// Close makes the journal durable and releases its file (a later save reopens it). A clean close
// (the loop stopped, not crashed) says so in the journal, so that a restart after a reboot knows
// nothing was lost.
func (s *Store) Close(clean bool) {
	if s.j == nil {
		return
	}
	if clean && s.boot != "" {
		_ = s.j.append(kindBoot, bootRecord(bootClosed, s.boot))
	}
	_ = s.j.sync()
	_ = s.j.close()
	s.j = nil
}

// SaveProofOfLock records the signed envelopes of the prevotes that prove the consensus state's
// valid value (consensus.PersistentState.ProofOfLock): after a restart the peer relays them, and the
// voters behind them may have lost them. Written like every record: before anything is sent.
func (s *Store) SaveProofOfLock(envelopes [][]byte) error {
	return s.append(kindProof, encodeEnvelopes(envelopes))
}

// maxProofEnvelopes bounds a proof of lock read back (one prevote per member).
const maxProofEnvelopes = 1 << 12

// encodeEnvelopes: u32 count, then per envelope u32 length and the bytes (big-endian).
func encodeEnvelopes(envs [][]byte) []byte {
	n := 4
	for _, e := range envs {
		n += 4 + len(e)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(envs)))
	for _, e := range envs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

// decodeEnvelopes reads encodeEnvelopes' form; nil for anything else (the record's checksum held, so
// only a writer's bug gets here).
func decodeEnvelopes(b []byte) [][]byte {
	if len(b) < 4 {
		return nil
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if n > maxProofEnvelopes || uint64(n)*4 > uint64(len(b)) {
		return nil
	}
	out := make([][]byte, 0, n)
	for range n {
		if len(b) < 4 {
			return nil
		}
		size := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(size) > uint64(len(b)) {
			return nil
		}
		out = append(out, b[:size:size])
		b = b[size:]
	}
	if len(b) != 0 {
		return nil
	}
	return out
}

// Loaded is what a StateDir holds.
type Loaded struct {
	// State and Consensus are the latest persisted payload of each kind (nil if none): an encoded
	// wire.StateResponse and a consensus.PersistentState (MarshalBinary, JSON in earlier versions).
	// Their checksums held; what they say is for the caller to check.
	State, Consensus []byte
	// Dropped is how many bytes of the journal follow its last intact record (ignored, and truncated
	// away when the journal is next opened for appending), and Torn whether they are what a crash
	// mid-append leaves (tornAppend) rather than damage to bytes that may have been synced.
	Dropped int64
	Torn    bool
	// ProofOfLock is the signed envelopes of the others' prevotes behind the consensus state's valid
	// value, as SaveProofOfLock last wrote them (nil if none or unreadable).
	ProofOfLock [][]byte
	// MayHaveLost is whether records the peer acted on may be missing because the machine restarted
	// since the journal was opened and it was not closed cleanly (durability.go).
	MayHaveLost bool
}

// Load reads the journal, else the checked files an earlier version wrote.
func (s *Store) Load() (Loaded, error) {
	var l Loaded
	if s.j != nil {
		if err := s.j.flush(); err != nil { // what this Store appended is part of what it holds
			return l, err
		}
	}
	path := filepath.Join(s.dir, JournalFile)
	latest, valid, err := readJournal(path)
	if err != nil {
		return l, err
	}
	if b, err := os.ReadFile(path); err == nil && int64(len(b)) > valid && valid > 0 {
		l.Dropped, l.Torn = int64(len(b))-valid, tornAppend(b[valid:])
	}
	l.MayHaveLost = mayHaveLostRecords(latest[kindBoot], s.boot)
	l.State, l.Consensus = latest[kindState], latest[kindConsensus]
	l.ProofOfLock = decodeEnvelopes(latest[kindProof])
	if l.State == nil {
		if l.State, err = ReadChecked(filepath.Join(s.dir, StateFile)); err != nil {
			return l, err
		}
	}
	if l.Consensus == nil {
		if l.Consensus, err = ReadChecked(filepath.Join(s.dir, ConsensusFile)); err != nil {
			return l, err
		}
	}
	return l, nil
}

// Quarantine renames every persisted file in the directory to name+".corrupt" (replacing an earlier
// one), so that the next start neither loads it nor appends to it, and an operator can still look at
// it. It returns the names moved.
func (s *Store) Quarantine() ([]string, error) {
	var moved []string
	for _, name := range []string{JournalFile, StateFile, ConsensusFile} {
		path := filepath.Join(s.dir, name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Rename(path, path+".corrupt"); err != nil {
			return moved, err
		}
		moved = append(moved, name)
	}
	return moved, nil
}

// writeAtomic replaces path with data, readable by this user only (the StateDir's files).
func writeAtomic(path string, data []byte) error { return WriteAtomic(path, data, 0o700, 0o600) }

// WriteAtomic replaces path with data: temporary file, fsync, chmod to perm, rename, directory
// fsync, so that a crash leaves the old file or the new one; a missing directory is made with dirPerm.
func WriteAtomic(path string, data []byte, dirPerm, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), dirPerm); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // make the rename durable
		d.Close()
	}
	return nil
}

// WriteChecked replaces path with a checked file (magic, SHA-256 of the payload, payload), atomically;
// ReadChecked reads it back. The node keeps its member history this way; earlier versions
// also wrote their state files so.
func WriteChecked(path string, payload []byte) error {
	sum := sha256.Sum256(payload)
	data := make([]byte, 0, len(fileMagic)+len(sum)+len(payload))
	data = append(append(append(data, fileMagic...), sum[:]...), payload...)
	return writeAtomic(path, data)
}

// ReadChecked returns a file's payload, (nil, nil) when it does not exist, or ErrCorrupt.
func ReadChecked(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	head := len(fileMagic) + sha256.Size
	if len(b) < head || string(b[:len(fileMagic)]) != fileMagic {
		return nil, fmt.Errorf("%w: %s has no valid header", ErrCorrupt, path)
	}
	payload := b[head:]
	sum := sha256.Sum256(payload)
	if !bytes.Equal(sum[:], b[len(fileMagic):head]) {
		return nil, fmt.Errorf("%w: %s fails its checksum", ErrCorrupt, path)
	}
	return payload, nil
}
