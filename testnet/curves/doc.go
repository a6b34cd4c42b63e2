// Package curves reads and writes training curves — the curves.csv and curves.png that both
// `testnet sim` and `testnet up` leave behind — so the simulator and the networked harness report in
// one format.
//
// curves.csv has the header series,seed,epoch,round,loss,gap: one row per recorded point of one run
// (one series, one seed). Numbers are written in Go's shortest round-trip form, so the same run gives a
// byte-identical file.
package curves
