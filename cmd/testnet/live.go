package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/byzpp/byzpp/testnet/up"
	"golang.org/x/term"
)

// liveView draws a running testnet: redrawn in place on a terminal (at most 4 times a second), a
// line every few seconds otherwise, so logs stay readable.
type liveView struct {
	w        io.Writer
	series   string
	tty      bool
	width    int
	drawn    int // lines drawn last time (terminal only)
	last     time.Time
	every    time.Duration
	lastSnap *up.Snapshot
}

func newLiveView(w io.Writer, series string) *liveView {
	v := &liveView{w: w, series: series, every: 5 * time.Second, width: 100}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		v.tty, v.every = true, 250*time.Millisecond
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 20 {
			v.width = wd
		}
	}
	return v
}

func (v *liveView) draw(s *up.Snapshot) {
	v.lastSnap = s
	if time.Since(v.last) < v.every {
		return
	}
	v.last = time.Now()
	if !v.tty {
		fmt.Fprintln(v.w, headline(v.series, s)+"  rejected "+rejectedLine(s))
		return
	}
	lines := append([]string{headline(v.series, s)}, wrap("rejected per member: "+rejectedLine(s), v.width)...)
	if st := statesLine(s); st != "" {
		lines = append(lines, wrap(st, v.width)...)
	}
	if v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA", v.drawn) // back to the first line drawn last time
	}
	for _, l := range lines {
		fmt.Fprintf(v.w, "\r\x1b[2K%s\n", l)
	}
	fmt.Fprint(v.w, "\x1b[J") // clear what a longer previous frame left below
	v.drawn = len(lines)
}

// finish draws the last snapshot, whatever the throttle says.
func (v *liveView) finish() {
	if v.lastSnap != nil {
		v.last = time.Time{}
		v.draw(v.lastSnap)
	}
}

func headline(series string, s *up.Snapshot) string {
	return fmt.Sprintf("[%s] %5.0fs  round %d/%d  leader %d  attempt %d  loss %s  gap %s  %.2f rounds/s  %d failed attempts",
		series, s.Seconds, s.Round, s.Target, s.Leader, s.Attempt, short(s.Loss), short(s.Gap), s.RoundsPerSecond, s.AttemptsFailed)
}

// rejectedLine lists every member's rejected-message count; Byzantine members are marked with '*'.
func rejectedLine(s *up.Snapshot) string {
	parts := make([]string, len(s.Peers))
	for i, p := range s.Peers {
		mark := ""
		if !p.Honest {
			mark = "*"
		}
		parts[i] = fmt.Sprintf("%d%s:%d", p.Index, mark, p.Rejected)
	}
	return strings.Join(parts, " ")
}

// statesLine names the members that are not up, and why.
func statesLine(s *up.Snapshot) string {
	var parts []string
	for _, p := range s.Peers {
		if p.State != "up" {
			parts = append(parts, fmt.Sprintf("%d %s", p.Index, p.State))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "not up: " + strings.Join(parts, ", ")
}

func short(x up.Num) string {
	if math.IsNaN(float64(x)) {
		return "-"
	}
	return fmt.Sprintf("%.4g", float64(x))
}

// wrap breaks s at spaces into lines of at most width runes.
func wrap(s string, width int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len([]rune(line))+1+len([]rune(w)) > width {
			out = append(out, line)
			line = "  " + w
			continue
		}
		if line == "" {
			line = w
		} else {
			line += " " + w
		}
	}
	return append(out, line)
}
