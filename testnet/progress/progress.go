package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar reports progress towards a known total. It is safe for concurrent use.
type Bar struct {
	mu        sync.Mutex
	w         io.Writer
	label     string
	unit      string
	total     int64
	tty       bool
	start     time.Time
	lastDraw  time.Time
	lastTenth int64
	done      int64
	finished  bool
}

// New returns a bar writing to w. It draws in place only when w is a terminal.
func New(w io.Writer, label, unit string, total int64) *Bar {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &Bar{w: w, label: label, unit: unit, total: max(total, 1), tty: tty, start: time.Now()}
}

// Set records that done units are complete.
func (b *Bar) Set(done int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.done = min(done, b.total)
	now := time.Now()
	if b.tty {
		if now.Sub(b.lastDraw) >= 100*time.Millisecond || b.done == b.total {
			b.lastDraw = now
			fmt.Fprintf(b.w, "\r%s", b.line(now))
		}
		return
	}
	if tenth := b.done * 10 / b.total; tenth > b.lastTenth {
		b.lastTenth = tenth
		fmt.Fprintln(b.w, b.line(now))
	}
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if b.tty {
		fmt.Fprintf(b.w, "\r%s\n", b.line(time.Now()))
	}
}

func (b *Bar) line(now time.Time) string {
	const width = 30
	frac := float64(b.done) / float64(b.total)
	filled := int(frac * width)
	elapsed := now.Sub(b.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(b.done) / elapsed
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(b.total-b.done)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("%s [%s%s] %3.0f%% %d/%d %s, %.0f %s/s, ETA %s   ", b.label,
		strings.Repeat("#", filled), strings.Repeat("-", width-filled), 100*frac,
		b.done, b.total, b.unit, rate, b.unit, eta)
}
