// Package progress draws a progress bar for long work: redrawn in place on a terminal, a line every
// tenth of the way otherwise (so logs of CI runs stay short).
//
// May import: anything but cmd/ (today golang.org/x/term and the standard library). Layering checked by
// internal/arch.
package progress
