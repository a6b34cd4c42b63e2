package agg

import (
	"strconv"

	"github.com/byzpp/byzpp/algo/rng"
)

// Bucketing returns the aggregator Bucketing(s) ∘ inner (Karimireddy, He, Jaggi 2022): permute the N
// inputs with π = rng.Perm(ctx.Rand, N), average consecutive groups of s (the last one may be smaller and
// is divided by its actual size), and aggregate the ⌈N/s⌉ bucket means with inner. Each Byzantine input
// taints at most one bucket, so inner sees Byzantine = min(f, buckets). Averaging shrinks the honest
// spread, which is what lets median-like rules work on heterogeneous data. s ≤ 1 returns inner itself.
func Bucketing(inner Aggregator, s int) Aggregator {
	if s <= 1 {
		return inner
	}
	return bucketing{inner: inner, size: s}
}

type bucketing struct {
	inner Aggregator
	size  int
}

func (b bucketing) Name() string {
	return "bucket" + strconv.Itoa(b.size) + "(" + b.inner.Name() + ")"
}

func (b bucketing) Aggregate(inputs [][]float64, ctx Context) ([]float64, error) {
	dim, err := CheckInputs(inputs)
	if err != nil {
		return nil, err
	}
	if ctx.Rand == nil {
		return nil, ErrNoRandom
	}
	buckets := bucketMeans(inputs, dim, rng.Perm(ctx.Rand, len(inputs)), b.size)
	inner := ctx
	inner.Byzantine = byzantine(ctx, len(buckets))
	return b.inner.Aggregate(buckets, inner)
}

// bucketMeans returns the means of inputs perm[0:s], perm[s:2s], …, each accumulated in permutation
// order as Σ x_i/size (see addScaled).
func bucketMeans(inputs [][]float64, dim int, perm []int, s int) [][]float64 {
	count := (len(perm) + s - 1) / s
	return bucketMeansIn(inputs, dim, perm, s, make([]float64, count*dim), make([][]float64, count))
}

// bucketMeansIn is bucketMeans into the caller's backing (count·dim floats, overwritten) and out
// (count slices).
func bucketMeansIn(inputs [][]float64, dim int, perm []int, s int, backing []float64, out [][]float64) [][]float64 {
	n := len(perm)
	clear(backing)
	for l := range out {
		y := backing[l*dim : (l+1)*dim : (l+1)*dim]
		members := perm[l*s : min((l+1)*s, n)]
		for _, i := range members {
			addScaled(y, inputs[i], len(members))
		}
		out[l] = y
	}
	return out
}
