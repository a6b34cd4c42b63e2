// Command peer runs one byzpp member: `peer run` joins a training run described by a genesis file,
// `peer keygen` makes an identity and `peer genesis` writes a genesis file for a set of members.
//
// May import: the library (node, node/genesis, node/modelfile, p2p, algo) but not testnet/. Today it
// imports testnet/experiment and libp2p's key and peer ID types (issue 13, listed in internal/arch).
// Layering checked by internal/arch.
package main
