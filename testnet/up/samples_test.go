package up

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseProcStatus(t *testing.T) {
	const status = "Name:\tpeer\nVmPeak:\t 1500000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   70000 kB\nThreads:\t9\n"
	rss, hwm, err := ParseProcStatus(strings.NewReader(status))
	if err != nil || rss != 70000<<10 || hwm != 81234<<10 {
		t.Fatalf("rss %d hwm %d err %v", rss, hwm, err)
	}
	for _, bad := range []string{"Name:\tkthreadd\nThreads:\t1\n", "VmHWM:\t1 kB\nVmRSS:\tlots kB\n", "VmHWM:\t1 MB\nVmRSS:\t1 kB\n"} {
		if _, _, err := ParseProcStatus(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	// This process' own file parses.
	if rss, hwm, err := readRSS(os.Getpid()); err != nil || rss <= 0 || hwm < rss {
		t.Fatalf("own status: rss %d hwm %d err %v", rss, hwm, err)
	}
}

// TestWindowRates: 10 rounds/s until 10 s, 5 during the attack (10–14 s), 8 after.
func TestWindowRates(t *testing.T) {
	var s []Sample
	round := 0.0
	for ms := 0; ms <= 20000; ms += 300 {
		t := float64(ms) / 1000
		s = append(s, Sample{Seconds: t, Round: uint64(math.Round(round)), RSS: int64(ms)})
		rate := 10.0
		switch {
		case t >= 14:
			rate = 8
		case t >= 10:
			rate = 5
		}
		round += rate * 0.3
	}
	r := WindowRates(s, 10, 14)
	near := func(x Num, want float64) bool { return math.Abs(float64(x)-want) < 0.5 }
	if !near(r.Before, 10) || !near(r.During, 5) || !near(r.After, 8) || !near(r.Ratio, 0.5) || r.AfterSeconds < 3.9 {
		t.Fatalf("%+v", r)
	}
	// An attack at the very end: the window after is clipped, and empty when nothing follows.
	r = WindowRates(s, 18, 20)
	if !math.IsNaN(float64(r.After)) || r.AfterSeconds > 0.1 || !near(r.During, 8) {
		t.Fatalf("%+v", r)
	}
	// The window before never reaches back before the first sample.
	r = WindowRates(s, 1, 9)
	if !near(r.Before, 10) || !near(r.During, 10) {
		t.Fatalf("%+v", r)
	}
	// Nor before the first decided round: a start-up of 3 s without rounds is not a slow rate.
	boot := []Sample{{Seconds: 0}, {Seconds: 3}}
	for _, x := range s {
		boot = append(boot, Sample{Seconds: x.Seconds + 3.3, Round: x.Round + 1})
	}
	if r := WindowRates(boot, 9.3, 13.3); !near(r.Before, 10) {
		t.Fatalf("start-up counted: %+v", r)
	}
	if r := WindowRates(nil, 1, 2); !math.IsNaN(float64(r.During)) || !math.IsNaN(float64(r.Ratio)) {
		t.Fatalf("no samples: %+v", r)
	}
	before, during := PeakRSS(s, 10, 18)
	if before != 9900 || during != 18000 {
		t.Fatalf("peak rss %d %d", before, during)
	}
	if HonestPeak(s) != 19800 {
		t.Fatalf("honest peak %d", HonestPeak(s))
	}
}

func TestParseOutsider(t *testing.T) {
	o, err := ParseOutsider(" sybil@200+15s ")
	if err != nil || o != (Outsider{Kind: "sybil", Round: 200, Duration: 15 * time.Second}) {
		t.Fatalf("%+v %v", o, err)
	}
	if o.String() != "sybil@200+15s" {
		t.Fatalf("String: %s", o)
	}
	for _, bad := range []string{"sybil@200", "sybil+15s", "nuke@1+1s", "sybil@x+1s", "sybil@1+0s", "sybil@1+-1s", "sybil@1+1h", "slowloris@1+abc"} {
		if _, err := ParseOutsider(bad); !errors.Is(err, ErrOptions) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
