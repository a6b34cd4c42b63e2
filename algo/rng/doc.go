// Package rng derives every random stream of a run from (seed, round, purpose, member).
//
// May import: the standard library only (algo is pure: nothing of consensus, node, p2p, testnet or cmd,
// no network, no wire format). Layering checked by internal/arch.
//
// Peers on different machines must draw the same coin, sample, leader and bucketing permutation, and the
// simulator must draw the same minibatches as the networked peers. So no stream ever comes from global
// state: each is a PCG generator (math/rand/v2) whose two seed words are the SHA-256 of the stream's
// coordinates. The helpers below (IntN, Perm, Sampling, Float64, Normal) are written out here rather than
// taken from math/rand/v2's methods, whose derived sequences are not promised to stay the same across Go
// releases; only PCG's raw output is.
package rng
