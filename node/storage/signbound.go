package storage

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"path/filepath"
)

// The sign bound. The journal is synced in the background (durability.go), so a machine crash can
// lose the records of votes this peer sent, and a peer that lost them must not sign again at the
// heights it may have signed at (the node's amnesia, node/amnesia.go). Which heights those are cannot
// be learnt from the others: a peer that lost many heights of records restarts far behind them, and
// what it hears says where they are, not where it was. So the peer writes it down ahead of time:
// before it signs anything at a height above its sign bound, it raises the bound to that height plus
// signBoundStride in a file of its own, fsynced and renamed into place (WriteChecked). One such write every
// signBoundStride heights, off the journal, costs a few milliseconds every few hundred milliseconds of
// a fast run; after a machine crash the bound is at or above every height the peer signed at, and it
// sits out at most signBoundStride heights more than it had to (half a second of a fast run).
const (
	signBoundFile   = "signbound.bin"
	signBoundStride = 32
)

// LoadSignBound reads the persisted sign bound; ok is false when there is none or it is unreadable.
func (s *Store) LoadSignBound() (bound uint64, ok bool) {
	payload, err := ReadChecked(filepath.Join(s.dir, signBoundFile))
	if err != nil || len(payload) != 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(payload), true
}

// CoverSigning makes sure the durable sign bound is at least h before this peer signs at height h.
func (s *Store) CoverSigning(h uint64) error {
	if !s.boundRead {
		s.signBound, _ = s.LoadSignBound()
		s.boundRead = true
	}
	if h <= s.signBound && s.signBound != 0 {
		return nil
	}
	next := h + cmp.Or(s.boundStride, signBoundStride)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], next)
	if err := WriteChecked(filepath.Join(s.dir, signBoundFile), b[:]); err != nil {
		return fmt.Errorf("raising the sign bound to %d: %w", next, err)
	}
	s.signBound = next
	return nil
}
