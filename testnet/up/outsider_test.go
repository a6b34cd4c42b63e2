package up

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	testnetOnce sync.Once
	testnetBin  string
	testnetErr  error
)

// buildTestnet builds the testnet binary (which runs `testnet outsider`) once.
func buildTestnet(t testing.TB) string {
	t.Helper()
	testnetOnce.Do(func() {
		dir, err := os.MkdirTemp("", "byzpp-up-outsider")
		if err != nil {
			testnetErr = err
			return
		}
		testnetBin = filepath.Join(dir, "testnet")
		if b, err := exec.Command("go", "build", "-o", testnetBin, "github.com/byzpp/byzpp/cmd/testnet").CombinedOutput(); err != nil {
			testnetErr = errors.New(string(b))
		}
	})
	if testnetErr != nil {
		t.Fatalf("go build testnet: %v", testnetErr)
	}
	return testnetBin
}

// TestUpOutsider: an outsider sending garbage on the run's streams, from an identity outside the
// genesis, does not stop four peers on loopback; the honest peers count its invalid input and block
// it, and the report has its before/during/after rates and memory.
func TestUpOutsider(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binaries and runs real processes")
	}
	o := Options{Spec: smallSpec(4, 1, "shb", 800), OutsiderBin: buildTestnet(t), Out: t.TempDir(),
		Outsiders: []Outsider{{Kind: "stream-garbage", Round: 20, Duration: 3 * time.Second}}}
	rep, err := runUp(t, o)
	if err != nil {
		t.Fatal(err)
	}
	requireSafeAndLive(t, rep, 800)
	if len(rep.Outsiders) != 1 || len(rep.Config.Outsiders) != 1 {
		t.Fatalf("outsiders %+v, config %v", rep.Outsiders, rep.Config.Outsiders)
	}
	x := rep.Outsiders[0]
	t.Logf("%+v", x)
	if x.Identities != 1 || x.HonestPeers != 3 || x.EndSeconds <= x.StartSeconds || math.IsNaN(float64(x.During)) {
		t.Fatalf("outsider report %+v", x)
	}
	var invalid uint64
	for _, v := range x.InvalidInputs {
		invalid += v
	}
	if invalid == 0 || x.BlockedBy == 0 {
		t.Fatalf("the honest peers neither counted nor blocked the outsider: %+v", x)
	}
	if x.PeakRSSDuring <= 0 || rep.HonestPeakRSS < x.PeakRSSDuring {
		t.Fatalf("memory: during %d, run peak %d", x.PeakRSSDuring, rep.HonestPeakRSS)
	}
	md, err := os.ReadFile(filepath.Join(o.Out, "report.md"))
	if err != nil || !strings.Contains(string(md), "stream-garbage@20+3s") {
		t.Fatalf("report.md: %v", err)
	}
}
