package agg

import (
	"github.com/byzpp/byzpp/algo/rng"
)

// Scratch holds the buffers an aggregation needs, for a caller that aggregates round after round and
// wants to allocate nothing once they have grown. The zero value is ready; it is not safe for concurrent
// use.
type Scratch struct {
	perm    []int
	buckets []float64
	rows    [][]float64
	columns []float64
	out     []float64
}

// IntoAggregator is implemented by the aggregators that can write their result into a caller's slice
// using a Scratch, allocating nothing: mean, CM and bucketing over one of them. The result is the one
// Aggregate returns, bit for bit.
type IntoAggregator interface {
	AggregateInto(dst []float64, inputs [][]float64, ctx Context, s *Scratch) error
}

// AggregateInto writes a.Aggregate(inputs, ctx) into dst (len(dst) must be the inputs' dimension):
// without allocating when a is an IntoAggregator, through Aggregate otherwise. On an error dst holds
// garbage.
func AggregateInto(a Aggregator, dst []float64, inputs [][]float64, ctx Context, s *Scratch) error {
	if in, ok := a.(IntoAggregator); ok && canInto(a) {
		return in.AggregateInto(dst, inputs, ctx, s)
	}
	out, err := a.Aggregate(inputs, ctx)
	if err != nil {
		return err
	}
	copy(dst, out)
	return nil
}

// canInto reports whether a and everything it wraps write into a slice.
func canInto(a Aggregator) bool {
	switch a := a.(type) {
	case mean, median:
		return true
	case bucketing:
		// One level only: the bucket means live in the Scratch an inner bucketing would reuse.
		switch a.inner.(type) {
		case mean, median:
			return true
		}
	}
	return false
}

func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

func (mean) AggregateInto(dst []float64, inputs [][]float64, _ Context, _ *Scratch) error {
	dim, err := CheckInputs(inputs)
	if err != nil {
		return err
	}
	out := dst[:dim]
	clear(out)
	for _, v := range inputs {
		addScaled(out, v, len(inputs))
	}
	_, err = checkOutput("mean", out)
	return err
}

func (median) AggregateInto(dst []float64, inputs [][]float64, _ Context, s *Scratch) error {
	dim, err := CheckInputs(inputs)
	if err != nil {
		return err
	}
	n := len(inputs)
	out := dst[:dim]
	switch n {
	// One or two inputs (bucketing's two buckets of a 4-member sample): the median is the value, or
	// the midpoint of the two, which is what medianOf computes (the midpoint of the smaller and the
	// larger is that of the two in either order: addition is commutative), with no transposition.
	case 1:
		for c, a := range inputs[0][:dim] {
			out[c] = a + 0
		}
		_, err = checkOutput("cm", out)
		return err
	case 2:
		b := inputs[1][:dim]
		for c, a := range inputs[0][:dim] {
			out[c] = midpoint(a, b[c])
		}
		_, err = checkOutput("cm", out)
		return err
	}
	s.columns = grow(s.columns, min(columnBlock, dim)*n)
	forEachColumnIn(inputs, dim, s.columns, func(c int, col []float64) {
		out[c] = medianOf(col)
	})
	_, err = checkOutput("cm", out)
	return err
}

func (b bucketing) AggregateInto(dst []float64, inputs [][]float64, ctx Context, s *Scratch) error {
	dim, err := CheckInputs(inputs)
	if err != nil {
		return err
	}
	if ctx.Rand == nil {
		return ErrNoRandom
	}
	s.perm = rng.PermInto(s.perm, ctx.Rand, len(inputs))
	count := (len(inputs) + b.size - 1) / b.size
	s.buckets = grow(s.buckets, count*dim)
	if cap(s.rows) < count {
		s.rows = make([][]float64, count)
	}
	buckets := bucketMeansIn(inputs, dim, s.perm, b.size, s.buckets, s.rows[:count])
	inner := ctx
	inner.Byzantine = byzantine(ctx, len(buckets))
	if _, nested := b.inner.(bucketing); nested {
		return AggregateInto(b.inner, dst, buckets, inner, &Scratch{})
	}
	return AggregateInto(b.inner, dst, buckets, inner, s)
}
