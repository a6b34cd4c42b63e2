// Package genesis reads and writes the genesis file that fixes a training run: its members, the shared
// seed, the training specification, the protocol timeouts and the initial point. The SHA-256 of the
// file's canonical encoding is the run id: peers of different runs ignore each other, and nobody can
// change the run's rules after it has started.
//
// May import: algo/ and the standard library only (it reads and writes the genesis file itself); not
// package node. Layering checked by internal/arch.
package genesis
