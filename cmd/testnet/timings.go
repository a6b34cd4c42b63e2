package main

import (
	"fmt"
	"io"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
)

// simTimings collects where `testnet sim --timings` spent its wall time.
type simTimings struct {
	began, resolved, ran, wrote time.Time
	runs                        sim.Timings // summed over the runs
}

func (t *simTimings) addRuns(results []sim.JobResult) {
	for _, r := range results {
		if r.Result != nil {
			t.runs = t.runs.Add(r.Timings)
		}
	}
}

// print writes one line per phase. The runs' phases are summed over runs, which may overlap (one per
// core); scoring runs alongside the rounds, and "waited" is what it added after them.
func (t *simTimings) print(w io.Writer) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%7.1f ms", float64(d.Microseconds())/1000) }
	fmt.Fprintf(w, "timings (wall):\n")
	fmt.Fprintf(w, "  flags, config, --epochs  %s\n", ms(t.resolved.Sub(t.began)))
	fmt.Fprintf(w, "  runs                     %s\n", ms(t.ran.Sub(t.resolved)))
	fmt.Fprintf(w, "    setup (data, shards)   %s  summed over runs\n", ms(t.runs.Setup))
	fmt.Fprintf(w, "    f*                     %s\n", ms(t.runs.FStar))
	fmt.Fprintf(w, "    rounds                 %s\n", ms(t.runs.Rounds))
	fmt.Fprintf(w, "    scoring                %s  objective + held-out set: on its own goroutine during the rounds, then on both\n", ms(t.runs.Scoring))
	fmt.Fprintf(w, "    scoring after rounds   %s\n", ms(t.runs.Wait))
	if !t.wrote.IsZero() {
		fmt.Fprintf(w, "  outputs (csv, plot, …)   %s\n", ms(t.wrote.Sub(t.ran)))
	}
	end := t.wrote
	if end.IsZero() {
		end = t.ran
	}
	fmt.Fprintf(w, "  total after start-up     %s\n", ms(end.Sub(t.began)))
}
