package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/byzpp/byzpp/node"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/modelfile"
)

// modelSource is a running peer that can hand out its latest certified state as a model file.
type modelSource interface {
	Model() (*modelfile.Model, error)
}

// serveModel serves GET /model (the sidecar, model.json) and GET /model.npy (the weights) of the
// latest certified decided state — the final model once the run is over. While the run goes on the
// two requests may straddle a decision: the sidecar's round is in the X-Byzpp-Round header of both,
// and modelfile.Verify refuses a mismatched pair (its digest check).
func serveModel(mux *http.ServeMux, m modelSource) {
	get := func(w http.ResponseWriter, r *http.Request) (npy, sidecar []byte, ok bool) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return nil, nil, false
		}
		model, err := m.Model()
		if errors.Is(err, node.ErrNoState) {
			http.Error(w, "no decided state yet", http.StatusServiceUnavailable)
			return nil, nil, false
		}
		if err == nil {
			npy, sidecar, err = model.Encode("model")
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return nil, nil, false
		}
		w.Header().Set("X-Byzpp-Round", strconv.FormatUint(model.Meta.Round, 10))
		return npy, sidecar, true
	}
	mux.HandleFunc("/model", func(w http.ResponseWriter, r *http.Request) {
		if _, sidecar, ok := get(w, r); ok {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(sidecar)
		}
	})
	mux.HandleFunc("/model.npy", func(w http.ResponseWriter, r *http.Request) {
		if npy, _, ok := get(w, r); ok {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(npy)
		}
	})
}

// runExport is `peer export`: the last decided state persisted in a stopped peer's state directory,
// checked against the genesis, written as a model file.
func runExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("peer export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state", defaultHome("state"), "the peer's state directory")
	genPath := fs.String("genesis", "", "the run's genesis file (default: the one kept in --state, for a peer that fetched it)")
	out := fs.String("out", "model", "write OUT.npy (the weights) and OUT.json (run, round, digest, certificate)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("export: unexpected argument %q", fs.Arg(0))
	}
	g, err := loadGenesisFor(*genPath, *stateDir)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	m, err := node.ExportState(g, *stateDir) // verified against the genesis
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	npy, js, err := m.Write(*out)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s and %s: round %d of %d, state digest %s, certificate of %d signers verified\n",
		npy, js, m.Meta.Round, m.Meta.RunRounds, m.Meta.StateDigest, len(m.Meta.Certificate.Signers))
	if m.Meta.Round < uint64(m.Meta.RunRounds) {
		fmt.Fprintf(stderr, "export: the run was not over for this peer: round %d of %d\n", m.Meta.Round, m.Meta.RunRounds)
	}
	return nil
}

// runVerifyModel is `peer verify-model`: checks a model file against the run's genesis and, when the
// spec has a held-out set, scores it.
func runVerifyModel(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("peer verify-model", flag.ContinueOnError)
	fs.SetOutput(stderr)
	genPath := fs.String("genesis", "", "the run's genesis file")
	path := fs.String("model", "model", "the model: PATH.json and the .npy it names")
	score := fs.Bool("score", true, "also score it on the spec's held-out set")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *genPath == "" {
		return errors.New("verify-model: --genesis is required")
	}
	g, err := genesis.Load(*genPath)
	if err != nil {
		return fmt.Errorf("verify-model: %w", err)
	}
	m, err := modelfile.Read(*path)
	if err != nil {
		return fmt.Errorf("verify-model: %w", err)
	}
	if _, err := modelfile.Verify(g, m); err != nil {
		return fmt.Errorf("verify-model: %w", err)
	}
	fmt.Fprintf(stdout, "ok: run %.16s, round %d of %d, state digest %s, %d of %d members signed\n", m.Meta.Run, m.Meta.Round,
		m.Meta.RunRounds, m.Meta.StateDigest, len(m.Meta.Certificate.Signers), len(m.Meta.Certificate.Members))
	if *score {
		loss, acc, err := modelfile.Score(g.Spec, m.X, nil)
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "verify-model: scoring: %v\n", err)
		case math.IsNaN(acc):
			fmt.Fprintln(stdout, "no held-out set in the spec: not scored")
		default:
			fmt.Fprintf(stdout, "test accuracy %.4f, test loss %.6f (%s)\n", acc, loss, g.Spec.TestDataName())
		}
	}
	return nil
}

// loadGenesisFor loads path, or the genesis a volunteer's peer kept in stateDir.
func loadGenesisFor(path, stateDir string) (*genesis.Genesis, error) {
	if path == "" {
		path = filepath.Join(stateDir, fetchedGenesis)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no --genesis and none kept in %s", stateDir)
		}
	}
	return genesis.Load(path)
}
