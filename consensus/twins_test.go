package consensus

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Flags of the fault-schedule checker (faultsched_test.go).
//
//	go test ./consensus/ -run 'TestFaultSchedules$'                          # short form
//	go test ./consensus/ -run 'TestFaultSchedules$' -twins.schedules=100000  # long form
//	go test ./consensus/ -run 'TestFaultSchedules$' -twins.seed=N -v         # replay one seed
//	go test ./consensus/ -run 'TestFaultSchedules$' -twins.seed=N -twins.mutant=weak-pol -v
//
// BYZPP_TWINS_SEED=N and BYZPP_TWINS_SCHEDULES=N do the same as the flags.
var (
	twinsSeed       = flag.Int64("twins.seed", -1, "replay this one fault schedule (with its event log)")
	twinsSchedules  = flag.Int("twins.schedules", 0, "fault schedules TestFaultSchedules runs (0: 250, 60 with -short)")
	twinsFirst      = flag.Uint64("twins.first", 0, "first seed of TestFaultSchedules")
	twinsMutant     = flag.String("twins.mutant", "", "run the schedules against a mutant: ignore-lock or weak-pol")
	twinsMutantRate = flag.Int("twins.mutant.rate", 0, "TestFaultSchedulesCatchMutants: run this many schedules per mutant and count failures")
)

var fsMutants = map[string]mutation{"ignore-lock": mutationIgnoreLock, "weak-pol": mutationWeakPOL}

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

// TestFaultSchedules runs random fault schedules against the correct machine and fails on the first
// few that violate agreement, validity, single signing, honest-evidence or progress after GST, printing
// each failing schedule and how to replay it.
func TestFaultSchedules(t *testing.T) {
	mut := mutationNone
	if *twinsMutant != "" {
		var ok bool
		if mut, ok = fsMutants[*twinsMutant]; !ok {
			t.Fatalf("unknown -twins.mutant %q", *twinsMutant)
		}
	}
	if seed := envInt("BYZPP_TWINS_SEED", *twinsSeed); seed >= 0 {
		s := drawSchedule(uint64(seed), 0)
		s.mutation = mut
		res := runSchedule(s)
		t.Logf("%s", res.report())
		t.Logf("ticks %d, every honest member decided %d heights, %d evidence reports", res.ticks, res.heights, res.evidence)
		if res.failed() {
			t.Fatalf("seed %d fails", seed)
		}
		return
	}
	count := 250
	if testing.Short() {
		count = 60
	}
	if *twinsSchedules > 0 {
		count = *twinsSchedules
	}
	count = int(envInt("BYZPP_TWINS_SCHEDULES", int64(count)))
	failures := 0
	byN := map[int]int{}
	var ticks, heights uint64
	var evidence, twins, amnesia, crashes, amnesiac, abstained int
	for i := range count {
		seed := *twinsFirst + uint64(i)
		s := drawSchedule(seed, 0)
		s.mutation = mut
		res := runSchedule(s)
		byN[s.N]++
		ticks += res.ticks
		heights += res.heights
		evidence += res.evidence
		amnesiac += res.amnesiac
		abstained += res.abstained
		twins += len(s.Twins)
		for _, a := range s.Amnesiac {
			if a {
				amnesia++
			}
		}
		for _, e := range s.Events {
			if e.Kind == "crash" {
				crashes++
			}
		}
		if res.failed() {
			failures++
			t.Errorf("%s\nreplay: go test ./consensus/ -run 'TestFaultSchedules$' -v -twins.seed=%d%s", res.report(), seed, mutFlag())
			if failures >= 3 {
				break
			}
		}
	}
	t.Logf("%d schedules (by n: %v): %d ticks, %d heights decided by all honest members, %d twins, %d amnesia-prone members, "+
		"%d crashes, %d restarts from an older save (%d messages withheld), %d evidence reports, %d failed",
		count, byN, ticks, heights, twins, amnesia, crashes, amnesiac, abstained, evidence, failures)
}

func mutFlag() string {
	if *twinsMutant == "" {
		return ""
	}
	return " -twins.mutant=" + *twinsMutant
}

// TestFaultSchedulesCatchMutants shows that the checker finds each of the review's mutants — a machine
// that prevotes a fresh value although locked on another (line 23), and one that accepts a proof of
// lock of f+1 prevotes (line 28) — within a bounded number of schedules. With
// -twins.mutant.rate=N it instead runs N schedules against each mutant and reports how many fail.
func TestFaultSchedulesCatchMutants(t *testing.T) {
	limit, rate := 2000, *twinsMutantRate
	for _, name := range []string{"ignore-lock", "weak-pol"} {
		t.Run(name, func(t *testing.T) {
			caught, first := 0, ""
			kinds := map[string]int{}
			for seed := range uint64(max(limit, rate)) {
				if rate > 0 && seed >= uint64(rate) {
					break
				}
				s := drawSchedule(seed, 0)
				s.mutation = fsMutants[name]
				res := runSchedule(s)
				if !res.failed() {
					continue
				}
				caught++
				kind, _, _ := strings.Cut(strings.SplitN(res.violations[0], ": ", 2)[1], ":")
				kinds[kind]++
				if first == "" {
					first = fmt.Sprintf("mutant %s caught after %d schedules (seed %d, n=%d): %s\nreplay: go test ./consensus/ -run 'TestFaultSchedules$' -v -twins.seed=%d -twins.mutant=%s",
						name, seed+1, seed, s.N, res.violations[0], seed, name)
				}
				if rate == 0 {
					break
				}
			}
			if caught == 0 {
				t.Fatalf("mutant %s survived %d schedules", name, max(limit, rate))
			}
			t.Log(first)
			if rate > 0 {
				t.Logf("mutant %s: %d of %d schedules fail (%v)", name, caught, rate, kinds)
			}
		})
	}
}

// TestFaultSchedulesDeterministic: a seed replays exactly.
func TestFaultSchedulesDeterministic(t *testing.T) {
	for seed := range uint64(3) {
		a, b := runSchedule(drawSchedule(seed, 0)), runSchedule(drawSchedule(seed, 0))
		if a.ticks != b.ticks || a.heights != b.heights || a.evidence != b.evidence || fmt.Sprint(a.log) != fmt.Sprint(b.log) {
			t.Fatalf("seed %d: two runs differ: %d/%d ticks, %d/%d heights", seed, a.ticks, b.ticks, a.heights, b.heights)
		}
	}
}

// TestFaultSchedulesCatchAmnesia: without abstention, a member restarted from an older save signs
// votes contradicting ones it sent before it crashed, and the checker says so.
func TestFaultSchedulesCatchAmnesia(t *testing.T) {
	limit := 3000
	for seed := range uint64(limit) {
		s := drawSchedule(seed, 0)
		s.noAbstain = true
		res := runSchedule(s)
		if res.failed() {
			t.Logf("amnesia without abstention caught after %d schedules (seed %d, n=%d): %s", seed+1, seed, s.N, res.violations[0])
			return
		}
	}
	t.Fatalf("amnesiac members voting again went unnoticed in %d schedules", limit)
}

// TestFaultSchedulesLostProofOfLock replays the seeds on which the checker found a liveness gap of the
// machine, now fixed: PersistentState kept a member's lock and valid value but not the prevotes that
// prove them. A correct member that locked on v with the help of a faulty member's prevote (Byzantine,
// or amnesiac and abstaining) and then crashed restarted locked on v, unable to relay the proof; the
// faulty member never sent its prevote again, the others never got the proof of lock, so they never
// prevoted its re-proposal while it prevoted nil on theirs, and with N = 3f+1 no attempt reached a
// quorum again. PersistentState.ProofOfLock now keeps those prevotes; a restart relays them.
func TestFaultSchedulesLostProofOfLock(t *testing.T) {
	for _, seed := range []uint64{101561, 103347, 103511} {
		if res := runSchedule(drawSchedule(seed, 0)); res.failed() {
			t.Errorf("seed %d: %s", seed, res.violations[0])
		}
	}
}
