package up

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sample is the honest peers at one poll: the rounds every honest peer has decided and the largest
// resident set (VmRSS) and high-water mark (VmHWM) of any honest peer process, in bytes.
type Sample struct {
	Seconds float64 `json:"seconds"` // since the peers started
	Round   uint64  `json:"round"`
	RSS     int64   `json:"rss"`
	HWM     int64   `json:"hwm"`
}

// sample records the honest peers' progress and memory at this poll.
func (d *driver) sample() {
	lo, _ := d.tr.honestRounds(d.procs)
	s := Sample{Seconds: time.Since(d.tr.start).Seconds(), Round: lo}
	for _, p := range d.procs {
		if !p.counted() || !p.running() {
			continue
		}
		rss, hwm, err := readRSS(p.cmd.Process.Pid)
		if err != nil {
			continue
		}
		s.RSS, s.HWM = max(s.RSS, rss), max(s.HWM, hwm)
	}
	d.samples = append(d.samples, s)
}

// readRSS reads a process' VmRSS and VmHWM from /proc/PID/status.
func readRSS(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	return ParseProcStatus(f)
}

// ParseProcStatus reads VmRSS and VmHWM (in bytes) from a /proc/PID/status file; an error when either
// is missing or not "N kB".
func ParseProcStatus(r io.Reader) (rss, hwm int64, err error) {
	var haveRSS, haveHWM bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc status: %s: %q", key, val)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0, 0, fmt.Errorf("/proc status: %s: %q", key, val)
		}
		if key == "VmRSS" {
			rss, haveRSS = n<<10, true
		} else {
			hwm, haveHWM = n<<10, true
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if !haveRSS || !haveHWM {
		return 0, 0, fmt.Errorf("/proc status: no VmRSS or VmHWM (a kernel thread, or a zombie)")
	}
	return rss, hwm, nil
}

// roundAt is the round at time t, linearly interpolated between samples (samples in time order); ok
// is false outside the sampled span.
func roundAt(s []Sample, t float64) (float64, bool) {
	if len(s) == 0 || t < s[0].Seconds || t > s[len(s)-1].Seconds {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if t <= s[i].Seconds {
			a, b := s[i-1], s[i]
			if b.Seconds == a.Seconds {
				return float64(b.Round), true
			}
			f := (t - a.Seconds) / (b.Seconds - a.Seconds)
			return float64(a.Round) + f*(float64(b.Round)-float64(a.Round)), true
		}
	}
	return float64(s[len(s)-1].Round), true
}

// rateBetween is the rounds a second between t0 and t1, both clipped to the sampled span; NaN when
// less than a poll's worth (0.1 s) of that span is left.
func rateBetween(s []Sample, t0, t1 float64) (rate, span float64) {
	if len(s) == 0 {
		return math.NaN(), 0
	}
	t0, t1 = max(t0, s[0].Seconds), min(t1, s[len(s)-1].Seconds)
	if t1-t0 < 0.1 {
		return math.NaN(), max(0, t1-t0)
	}
	r0, _ := roundAt(s, t0)
	r1, _ := roundAt(s, t1)
	return (r1 - r0) / (t1 - t0), t1 - t0
}

// WindowRates compares the rate over an attack from start to end (seconds) with the rate over the
// window of the same length just before it and just after it. The windows are clipped to the
// samples: the one before never reaches back before the first decided round (the peers' start-up is
// not their rate), the one after ends with the last sample (AfterSeconds says how long it was).
func WindowRates(s []Sample, start, end float64) Rates {
	w := end - start
	var r Rates
	from := start - w
	for _, x := range s {
		if x.Round > 0 {
			from = max(from, x.Seconds)
			break
		}
	}
	before, _ := rateBetween(s, from, start)
	during, _ := rateBetween(s, start, end)
	after, span := rateBetween(s, end, end+w)
	r.Before, r.During, r.After, r.AfterSeconds = Num(before), Num(during), Num(after), span
	r.Ratio = ratio(during, before)
	return r
}

// PeakRSS is the largest honest resident set sampled before start and from start to end.
func PeakRSS(s []Sample, start, end float64) (before, during int64) {
	for _, x := range s {
		switch {
		case x.Seconds < start:
			before = max(before, x.RSS)
		case x.Seconds <= end:
			during = max(during, x.RSS)
		}
	}
	return before, during
}

// HonestPeak is the largest high-water mark of any honest peer process over all samples.
func HonestPeak(s []Sample) int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.HWM, x.RSS)
	}
	return m
}

// ratio is a / b, NaN when b is not positive or either is NaN.
func ratio(a, b float64) Num {
	if !(b > 0) || math.IsNaN(a) {
		return Num(math.NaN())
	}
	return Num(a / b)
}
