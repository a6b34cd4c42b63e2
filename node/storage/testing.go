package storage

import (
	"os"
	"path/filepath"
)

// Test helpers. They are exported because the node's crash and restart tests (package node) damage
// StateDirs the way a crash or a bad disk does; nothing outside tests calls them. They touch only the
// directory given, never a Store in use.

// SetSignBoundStride sets how far above a height CoverSigning raises the sign bound (signBoundStride
// by default), so that a test's peer sits out a few heights after amnesia rather than 32.
func (s *Store) SetSignBoundStride(n uint64) { s.boundStride = n }

// LoseUnsyncedTail makes the journal in dir look as a machine crash leaves it when the last record
// was written but not yet synced: that record is gone, and the journal was opened in an earlier boot
// of the machine than the running one. A missing journal is left alone.
func LoseUnsyncedTail(dir string) { LoseUnsyncedRecords(dir, 1) }

// LoseUnsyncedRecords is LoseUnsyncedTail for the last k records (a background sync a second apart
// can leave dozens unsynced): cut at a record boundary, then a boot record of an earlier boot.
func LoseUnsyncedRecords(dir string, k int) {
	path := filepath.Join(dir, JournalFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var starts []int
	off := len(journalMagic)
	for {
		_, _, n, ok := parseRecord(b[off:])
		if !ok {
			break
		}
		starts = append(starts, off)
		off += n
	}
	cut := off
	if len(starts) > 0 {
		cut = starts[max(0, len(starts)-k)]
	}
	b = append(b[:cut], encodeRecord(kindBoot, bootRecord(bootOpened, "an-earlier-boot"))...)
	_ = os.WriteFile(path, b, 0o600)
}

// ReplaceState rewrites the journal in dir (atomically, compacted to the latest record of each kind)
// with its latest decided state replaced by what f makes of it: records that pass every checksum but
// hold a state the node's own checks must refuse. f sees nil when the journal holds no state.
func ReplaceState(dir string, f func(state []byte) ([]byte, error)) error {
	path := filepath.Join(dir, JournalFile)
	latest, _, err := readJournal(path)
	if err != nil {
		return err
	}
	if latest[kindState], err = f(latest[kindState]); err != nil {
		return err
	}
	return writeJournal(path, latest)
}
