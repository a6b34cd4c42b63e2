// Package compress holds the unbiased compressors a member applies to its gradient difference in a
// partial round of Byz-VR-MARINA-PP, and the possibly sparse Vector they produce.
//
// May import: the standard library and other algo/ packages only (algo is pure: nothing of consensus,
// node, p2p, testnet or cmd, no network, no wire format). Layering checked by internal/arch.
//
// Every compressor Q is unbiased, E Q(v) = v, with variance parameter ω: E‖Q(v) − v‖² ≤ ω‖v‖². The
// method's theory only needs those two facts, so any compressor here can be swapped for another by its
// spec string (see Parse):
//
//   - "none": the identity, ω = 0.
//   - "randk:K" / "randk:0.05": K coordinates (or a fraction of d, rounded up) drawn uniformly without
//     replacement and scaled by d/K, ω = d/K − 1. The only sparse one: it sends indices and values.
//   - "dither:S": random dithering with S levels relative to ‖v‖₂ (QSGD), ω = min(d/S², √d/S).
//   - "natural": natural compression, stochastic rounding of each magnitude to a neighbouring power of
//     two, ω = 1/8.
//
// Randomness comes only from the *rand.Rand passed in, which the caller derives from
// rng.New(seed, round, rng.Compress, member); the draws go through package rng's helpers so the same
// stream gives the same message on every Go release. A Vector received from the network must be checked
// with Validate before use: it is hostile input.
package compress
