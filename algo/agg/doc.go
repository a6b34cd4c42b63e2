// Package agg holds the robust aggregators of Byz-VR-MARINA-PP, the clipping the aggregator applies to
// every gradient difference, and bucketing.
//
// May import: the standard library and other algo/ packages only (algo is pure: nothing of consensus,
// node, p2p, testnet or cmd, no network, no wire format). Layering checked by internal/arch.
//
// An Aggregator maps the N vectors received in a round to one vector while tolerating f of them being
// arbitrary (Byzantine). The aggregators are defined exactly as in /work/shared/METHOD.md:
//
//   - "mean": the plain mean (not robust; the baseline).
//   - "cm": coordinate-wise median, the mean of the two middle values for even N.
//   - "tm": coordinate-wise trimmed mean, dropping the f largest and f smallest values per coordinate.
//   - "krum", "mkrum:M": Krum and Multi-Krum, scoring each input by its squared distances to its N − f − 2
//     nearest neighbours.
//   - "gm": the geometric median by smoothed Weiszfeld (RFA), "gm:iters=8,nu=0.1".
//   - "cclip": centered clipping, "cclip:tau=10,iters=3", started from the agreed Context.Center.
//   - "bucketS(inner)": Bucketing(inner, S), averaging random buckets of S inputs before inner.
//
// Peers on different machines recompute the leader's aggregate and compare digests, so every result must
// be bit-identical everywhere. Hence: every reduction runs in a fixed order (package vec, or loops written
// the same way with float64(x*y) + z so no FMA is fused in), order statistics are summed in ascending
// order, ties are broken by input index, the only randomness (the bucketing permutation) comes from
// Context.Rand, and the only goroutines (Krum's pairwise distances) each own whole distances, each
// computed by one index-order loop, so the result does not depend on scheduling.
//
// Inputs are hostile: every Aggregate validates lengths and finiteness first (CheckInputs) and returns an
// error wrapping ErrEmpty, ErrDimension or ErrNonFinite instead of panicking. Conversely, finite inputs,
// however large, never make an aggregation fail: averages are accumulated as Σ v_i/n so they cannot
// overflow, and a Byzantine member must not be able to stall a round that way. Inputs are never modified.
package agg
