package agg

import (
	"math"
	"math/bits"
	"slices"
)

// selectKth reorders a so that a[k] is its k-th smallest value (0-based), everything before it is ≤ and
// everything after it is ≥, and returns a[k]. Quickselect with a median-of-three pivot and a three-way
// partition (duplicates cost nothing); after 2·log₂(n) partitions without finishing it sorts the rest, so
// adversarially ordered inputs cannot make it quadratic. Any correct method returns the same value: the
// k-th order statistic does not depend on the algorithm (up to the sign of zero, see midpoint).
func selectKth(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	budget := 2 * bits.Len(uint(len(a)))
	for hi > lo {
		if hi-lo < 16 {
			insertionSort(a[lo : hi+1])
			return a[k]
		}
		if budget == 0 {
			slices.Sort(a[lo : hi+1])
			return a[k]
		}
		budget--
		p := medianOfThree(a[lo], a[lo+(hi-lo)/2], a[hi])
		// Three-way partition of a[lo..hi]: [lo, lt) < p, [lt, gt] == p, (gt, hi] > p.
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch x := a[i]; {
			case x < p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case x > p:
				a[i], a[gt] = a[gt], a[i]
				gt--
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt - 1
		case k > gt:
			lo = gt + 1
		default:
			return a[k]
		}
	}
	return a[k]
}

func medianOfThree(x, y, z float64) float64 {
	if x > y {
		x, y = y, x
	}
	if y > z {
		y = z
	}
	return max(x, y)
}

func insertionSort(a []float64) {
	for i := 1; i < len(a); i++ {
		x := a[i]
		j := i
		for ; j > 0 && a[j-1] > x; j-- {
			a[j] = a[j-1]
		}
		a[j] = x
	}
}

// minOf returns the smallest value of a non-empty a.
func minOf(a []float64) float64 {
	m := a[0]
	for _, x := range a[1:] {
		if x < m {
			m = x
		}
	}
	return m
}

// midpoint is (a + b)/2 without overflow for huge a, b, with a negative zero turned into +0: ±0 compare
// equal, so which of them an order statistic returns depends on the algorithm, and the sign of a zero
// must not make two peers' digests differ.
func midpoint(a, b float64) float64 {
	m := (a + b) / 2
	if math.IsInf(m, 0) {
		m = a/2 + b/2
	}
	return m + 0
}

// sortFloats sorts finite a ascending, using keys (len ≥ len(a)) as scratch. It sorts order-preserving
// uint64 keys instead of the floats: that avoids the NaN handling of slices.Sort on floats (about twice
// as fast) and orders −0 before +0, so the sorted sequence is fully determined by the multiset of bit
// patterns, whatever the algorithm.
func sortFloats(a []float64, keys []uint64) {
	keys = keys[:len(a)]
	for i, x := range a {
		keys[i] = floatKey(x)
	}
	if len(keys) <= 12 {
		for i := 1; i < len(keys); i++ {
			k, j := keys[i], i
			for ; j > 0 && keys[j-1] > k; j-- {
				keys[j] = keys[j-1]
			}
			keys[j] = k
		}
	} else {
		slices.Sort(keys)
	}
	for i, k := range keys {
		a[i] = keyFloat(k)
	}
}

// floatKey maps a float64 to a uint64 whose unsigned order is the float order (negatives reversed below
// positives); keyFloat inverts it.
func floatKey(x float64) uint64 {
	b := math.Float64bits(x)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

func keyFloat(k uint64) float64 {
	if k>>63 == 1 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}
