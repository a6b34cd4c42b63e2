// Command testnet runs byzpp experiments: `testnet sim` trains in one process, deterministically from a
// seed, and writes curves.csv, curves.png and config.json.
//
// May import: anything: it is the harness's binary (testnet/..., algo/sim, node/modelfile). Layering
// checked by internal/arch.
package main
