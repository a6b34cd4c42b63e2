// Package experiment describes what `testnet sim` (and later `testnet up`) runs: one or more named
// series, each a complete sim.Spec, over a list of seeds; the paper's presets; and the command-line
// flags that override them. Its JSON form is the config.json an experiment leaves behind, and
// `--config config.json` repeats the run exactly.
//
// May import: anything but cmd/ (the harness; today algo/sim and the standard library). Layering
// checked by internal/arch.
package experiment
