package node

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p/wire"
)

// ErrCorrupt is wrapped when a persisted file fails its checksum.
var ErrCorrupt = errors.New("node: persisted file is corrupt")

const (
	stateFile     = "state.bin"      // the last decided state + proposal + certificate (wire.StateResponse)
	consensusFile = "consensus.json" // consensus.PersistentState
	fileMagic     = "byzpp-persist-v1\n"
)

// store keeps a peer's state in a directory: a running peer appends to the journal (journal.go); the
// checked files below are what earlier versions wrote, still read when the journal lacks a kind. A
// checked file is magic || SHA-256(payload) || payload, written to a temporary file, fsynced and
// renamed, so a crash leaves either the old or the new file.
type store struct {
	dir string
	j   *journal // opened on the first save
	// boot is the running boot of the machine ("" if it cannot be told: then every send is preceded
	// by a sync); see durability.go.
	boot     string
	lastSync time.Time
	// signBound is the durable sign bound (signbound.go), read on first use.
	signBound   uint64
	boundRead   bool
	boundStride uint64 // signBoundStride unless a test sets it
}

func newStore(dir string) *store { return &store{dir: dir, boot: readBootID()} }

func (s *store) saveState(raw []byte) error { return s.append(kindState, raw) }

func (s *store) saveConsensus(ps *consensus.PersistentState) error {
	b, err := ps.MarshalBinary()
	if err != nil {
		return err
	}
	return s.append(kindConsensus, b)
}

// append writes a record (write(2) returned: a restart of the process reads it back); it survives a
// machine crash after the next sync.
func (s *store) append(kind byte, payload []byte) error {
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

// beforeSend makes what the loop persisted safe to act on before a message leaves: a sync where the
// boot cannot be told, nothing otherwise (durability.go). A crash that loses records written since
// the last sync loses only state changes no other member has seen a consequence of (nothing was sent
// after them), which is the same as this peer never having processed the inputs behind them — a
// message loss, which the protocol tolerates. It saves the fsyncs of the transitions that send
// nothing (a decision, the decided state, the start of the next height) on every round's critical
// path.
func (s *store) beforeSend() error {
	if s.boot != "" {
		return nil
	}
	return s.sync()
}

// syncIfDue syncs when records wait and the last sync is groupSyncEvery old (the loop calls it on
// every tick).
func (s *store) syncIfDue(now time.Time) error {
	if s.j == nil || !s.j.dirty || now.Sub(s.lastSync) < groupSyncEvery {
		return nil
	}
	return s.sync()
}

// sync makes every record appended so far durable.
func (s *store) sync() error {
	if s.j == nil {
		return nil
	}
	if err := s.j.sync(); err != nil {
		return err
	}
	s.lastSync = time.Now()
	return nil
}

// close makes the journal durable and releases its file (a later save reopens it). A clean close
// (the loop stopped, not crashed) says so in the journal, so that a restart after a reboot knows
// nothing was lost.
func (s *store) close(clean bool) {
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

// loaded is what a StateDir holds: the latest persisted payload of each kind (nil if none); dropped,
// how many bytes of the journal follow its last intact record (ignored, and truncated away when the
// journal is next opened for appending), and torn, whether they are what a crash mid-append leaves
// (tornAppend) rather than damage; mayHaveLost, whether records the peer acted on may be missing
// because the machine restarted since (durability.go).
type loaded struct {
	state, cons []byte
	dropped     int64
	torn        bool
	mayHaveLost bool
}

// load reads the journal, else the checked files an earlier version wrote.
func (s *store) load() (loaded, error) {
	var l loaded
	path := filepath.Join(s.dir, journalFile)
	latest, valid, err := readJournal(path)
	if err != nil {
		return l, err
	}
	if b, err := os.ReadFile(path); err == nil && int64(len(b)) > valid && valid > 0 {
		l.dropped, l.torn = int64(len(b))-valid, tornAppend(b[valid:])
	}
	l.mayHaveLost = mayHaveLostRecords(latest[kindBoot], s.boot)
	l.state, l.cons = latest[kindState], latest[kindConsensus]
	if l.state == nil {
		if l.state, err = readChecked(filepath.Join(s.dir, stateFile)); err != nil {
			return l, err
		}
	}
	if l.cons == nil {
		if l.cons, err = readChecked(filepath.Join(s.dir, consensusFile)); err != nil {
			return l, err
		}
	}
	return l, nil
}

// quarantine renames every persisted file in the directory to name+".corrupt" (replacing an earlier
// one), so that the next start neither loads it nor appends to it, and an operator can still look at
// it. It returns the names moved.
func (s *store) quarantine() ([]string, error) {
	var moved []string
	for _, name := range []string{journalFile, stateFile, consensusFile} {
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

// writeAtomic replaces path with data: temporary file, fsync, rename, directory fsync.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
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
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // make the rename durable
		d.Close()
	}
	return nil
}

// writeChecked replaces path with a checked file (magic, SHA-256 of the payload, payload), atomically;
// readChecked reads it back. The member history is kept this way (membership.go); earlier versions
// also wrote their state files so.
func writeChecked(path string, payload []byte) error {
	sum := sha256.Sum256(payload)
	data := make([]byte, 0, len(fileMagic)+len(sum)+len(payload))
	data = append(append(append(data, fileMagic...), sum[:]...), payload...)
	return writeAtomic(path, data)
}

// readChecked returns a file's payload, (nil, nil) when it does not exist, or ErrCorrupt.
func readChecked(path string) ([]byte, error) {
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

// restore returns the state to start from and the consensus state to resume, from StateDir. A
// persisted state that fails its checks is never loaded: a volunteer's peer should not refuse to start
// because its disk flipped a bit, and every decided state can be fetched again, certified, from the
// other members. So corruption is logged, the damaged files are quarantined, and the peer starts
// from the genesis state and catches up (sync.go, catchup.go). Only I/O errors stop New.
//
// What is lost with the damaged records is the record of this peer's own votes and lock at the
// height it was deciding (consensus.PersistentState). A peer that rejoins that same height at once
// could sign a vote contradicting one it forgot (TestCrashAtRoundSteps shows a restart without that
// record does), so a peer restored from a damaged StateDir sits out the heights it may have voted at
// (amnesia.go).
func (nd *Node) restore() (*method.State, *consensus.PersistentState, error) {
	fresh := method.NewState(nd.setup.X0)
	if nd.store == nil {
		return fresh, nil, nil
	}
	st, ps, err := nd.restoreFrom(fresh)
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrBadState) {
		moved, qerr := nd.store.quarantine()
		if qerr != nil {
			return nil, nil, fmt.Errorf("%w (quarantining it: %w)", err, qerr)
		}
		nd.log.Error("persisted state is corrupt: not loaded; starting from the genesis state and refetching from peers",
			"err", err, "quarantined", moved)
		nd.latest = nil
		nd.mayHaveForgotten = true
		return fresh, nil, nil
	}
	return st, ps, err
}

// restoreFrom loads and checks what StateDir holds; errors wrapping ErrCorrupt or ErrBadState mean
// the files cannot be trusted.
func (nd *Node) restoreFrom(fresh *method.State) (*method.State, *consensus.PersistentState, error) {
	st := fresh
	l, err := nd.store.load()
	if err != nil {
		return nil, nil, err
	}
	raw, craw, dropped := l.state, l.cons, l.dropped
	switch {
	case l.mayHaveLost:
		// The machine restarted since this journal was opened and it was not closed cleanly: what was
		// written after the last sync, votes it sent among it, may be gone (durability.go).
		nd.log.Warn("the machine restarted since this peer last ran and it did not stop cleanly: "+
			"sitting out the heights it may have voted at", "dropped_bytes", dropped)
		nd.mayHaveForgotten = true
	case dropped > 0 && l.torn:
		// A crash mid-append: that record was never synced, so nothing depending on it was sent.
		nd.log.Info("journal ends in a torn record (a crash while writing); using the records before it",
			"dropped_bytes", dropped)
	case dropped > 0:
		// Damage to records that may have been synced: only the intact records before it are used,
		// the peer refetches what it lacks, and it may have forgotten votes it sent (amnesia.go).
		nd.log.Error("journal is damaged; using the intact records before the damage",
			"dropped_bytes", dropped)
		nd.mayHaveForgotten = true
	}
	if raw != nil {
		var resp wire.StateResponse
		if err := wire.Unmarshal(raw, &resp, nd.lim); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, stateFile, err)
		}
		// The decision was stored with a candidate certificate (lazycert.go): certify it now.
		cert, err := nd.certify(resp.Cert)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: persisted decision: %w", ErrBadState, err)
		}
		resp.Cert = cert
		if err := nd.verifyState(&resp); err != nil {
			return nil, nil, fmt.Errorf("persisted decision: %w", err)
		}
		st = &method.State{Round: resp.Round, X: resp.X, G: resp.G}
		if nd.latest, err = wire.Marshal(&resp); err != nil {
			return nil, nil, err
		}
	}
	if craw == nil {
		return st, nil, nil
	}
	ps, err := consensus.DecodePersistentState(craw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, consensusFile, err)
	}
	if ps.Height > st.Round {
		// The record of votes at ps.Height outlived the decided state before it (a failed or lost
		// write): this peer signed at ps.Height and cannot resume there from an older state.
		nd.log.Warn("persisted consensus state is ahead of the persisted decided state: sitting out the heights it voted at",
			"consensus", ps.Height, "state", st.Round)
		nd.mayHaveForgotten = true
		nd.votedThrough = ps.Height
		return st, nil, nil
	}
	if ps.Height != st.Round {
		// The consensus state belongs to a height already decided (or, after a crash between the two
		// writes, the decision of st.Round is not applied yet: the peers re-serve it); start afresh.
		nd.log.Info("persisted consensus state is for another height; starting the height afresh",
			"consensus", ps.Height, "state", st.Round)
		return st, nil, nil
	}
	nd.log.Info("restored", "round", st.Round, "attempt", ps.Round)
	return st, ps, nil
}
