package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/modelfile"
)

// writeSimModel writes the final model of the first job (the first series' first seed) to
// dir/model.npy and dir/model.json, in the format peers write at the end of a run (node/modelfile).
// No consensus decided it, so the sidecar carries no certificate and `peer verify-model` refuses it;
// its state digest is the one a network run of the same spec and seed ends on.
func writeSimModel(dir string, results []sim.JobResult, stdout io.Writer) error {
	if len(results) == 0 || results[0].Result == nil || results[0].Final == nil {
		return nil
	}
	r := results[0]
	m := modelfile.Uncertified(r.Spec, fmt.Sprintf("testnet sim: series %s, seed %d", r.Series, r.Spec.Seed), r.Final, "testnet sim")
	npy, js, err := m.Write(filepath.Join(dir, "model"))
	if err != nil {
		return fmt.Errorf("writing the final model: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s and %s: the final model of series %s, seed %d (round %d, state digest %.12s…)\n",
		npy, js, r.Series, r.Spec.Seed, m.Meta.Round, m.Meta.StateDigest)
	return nil
}
