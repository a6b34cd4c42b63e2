package up

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// State file and pid file names inside the output directory.
const (
	StateFile = "state.json"
	PIDFile   = "testnet.pid"
)

// ErrNoState is returned by ReadState when the directory holds no testnet state.
var ErrNoState = errors.New("testnet up: no testnet state in this directory")

// State is the state file: what `testnet status` shows of a run, detached or not.
type State struct {
	PID      int       `json:"pid"` // the harness process
	Started  time.Time `json:"started"`
	Updated  time.Time `json:"updated"`
	Error    string    `json:"error,omitempty"`
	Snapshot *Snapshot `json:"snapshot,omitempty"`
}

// Finished reports whether the run is over (whatever its outcome).
func (s *State) Finished() bool { return s.Snapshot != nil && s.Snapshot.Phase != "running" }

// ReadState reads dir's state file.
func ReadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoState, dir)
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoState, filepath.Join(dir, StateFile), err)
	}
	return &s, nil
}

func writeState(dir string, s *State) error {
	s.Updated = time.Now()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, StateFile), append(b, '\n'))
}

// WriteFileAtomic writes through a temporary file and a rename, so a reader (or an interrupted run)
// never sees a half-written file.
func WriteFileAtomic(path string, content []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
