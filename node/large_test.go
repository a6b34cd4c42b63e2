package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/byzpp/byzpp/algo/rng"
	"github.com/byzpp/byzpp/algo/sim"
)

// writeWideData writes a LIBSVM file with `rows` rows over `features` columns, 6 nonzeros a row.
func writeWideData(t *testing.T, rows, features int) string {
	t.Helper()
	r := rng.New(42, 0, rng.Split, 0)
	var b strings.Builder
	for i := range rows {
		fmt.Fprintf(&b, "%d", 2*(i%2)-1)
		for _, j := range rng.Sample(r, features, 6) {
			fmt.Fprintf(&b, " %d:1", j+1)
		}
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "wide.libsvm")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMillionParameterModel: a model of a million parameters — 8 MB per dense message, far above
// gossipsub's 1 MiB limit — still trains over the network, and every peer derives sim's states.
func TestMillionParameterModel(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 8 MB vectors between four in-memory peers")
	}
	const features = 1_000_000
	spec := sim.Default()
	spec.Data, spec.Features = writeWideData(t, 40, features), features
	spec.Members, spec.Byzantine, spec.Attack = 4, 0, "none"
	spec.Participation, spec.Schedule, spec.Rounds, spec.EvalEvery, spec.Batch = 0.5, 3, 4, 2, 8
	synctest.Test(t, func(t *testing.T) {
		c := runCluster(t, spec, nil, uint64(spec.Rounds))
		ref := simDigests(t, spec)
		for i, nd := range c.nodes {
			if st := nd.Status(); st.Round < uint64(spec.Rounds) {
				t.Fatalf("member %d stopped at round %d", i, st.Round)
			}
			for r := uint64(1); r <= uint64(spec.Rounds); r++ {
				if got, want := c.digests[i][r], ref[r]; got != want {
					t.Errorf("member %d, round %d: digest %x, sim %x", i, r, got[:6], want[:6])
				}
			}
		}
	})
}
