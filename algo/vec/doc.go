// Package vec holds the dense vector arithmetic used on the aggregation path.
//
// May import: the standard library only (algo is pure: nothing of consensus, node, p2p, testnet or cmd,
// no network, no wire format). Layering checked by internal/arch.
//
// Every reduction here is a plain loop in index order, and every multiply-add is written
// float64(x*y) + z so the compiler cannot fuse it into an FMA on arm64. That makes results bit-identical
// on every machine, which the protocol relies on: honest peers re-derive the leader's aggregate and
// compare digests. gonum's BLAS kernels are faster but use different summation orders per platform, so
// they are not used here.
package vec
