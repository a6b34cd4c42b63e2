// Package curves reads and writes training curves — the curves.csv and curves.png that both
// `testnet sim` and `testnet up` leave behind — so the simulator and the networked harness report in
// one format.
//
// May import: anything but cmd/ (the harness; today gonum/plot and the standard library). Layering
// checked by internal/arch.
//
// curves.csv has the header series,seed,epoch,round,loss,gap,test_loss,test_accuracy: one row per
// recorded point of one run (one series, one seed). Numbers are written in Go's shortest round-trip
// form ("nan" when unknown), so the same run gives a byte-identical file. Files written before the two
// test columns existed still read (their test columns as NaN).
//
// Draw writes curves.png and curves.svg: the gap on a log scale (the loss when f* is unknown), a line
// per series (median over seeds), a band in the line's colour from the best to the worst seed, the
// legend beside the plot, a cross where a series diverged; it never fails for lack of positive values
// (it draws an empty frame and says so in PlotInfo.Note).
package curves
