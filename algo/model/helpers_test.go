package model

import (
	"math"

	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/rng"
)

// randomDataset returns a sparse data set with normal values: each of the features columns is present
// in a row with probability density; labels are fair coin flips.
func randomDataset(seed uint64, rows, features int, density float64) *data.Dataset {
	r := rng.New(seed, 0, rng.Split, 0)
	d := &data.Dataset{Name: "random", Features: features, Indptr: []int{0}}
	for range rows {
		for j := range features {
			if rng.Bernoulli(r, density) {
				d.Indices = append(d.Indices, int32(j))
				d.Values = append(d.Values, rng.Normal(r))
			}
		}
		y := 0.0
		if rng.Bernoulli(r, 0.5) {
			y = 1
		}
		d.Labels = append(d.Labels, y)
		d.Indptr = append(d.Indptr, len(d.Values))
	}
	return d
}

// randomPoint returns a point with standard normal coordinates times scale.
func randomPoint(seed uint64, dim int, scale float64) []float64 {
	r := rng.New(seed, 0, rng.Init, 1)
	x := make([]float64, dim)
	for i := range x {
		x[i] = scale * rng.Normal(r)
	}
	return x
}

// dense returns row r of d as a dense vector.
func dense(d *data.Dataset, r int) []float64 {
	a := make([]float64, d.Features)
	for k := d.Indptr[r]; k < d.Indptr[r+1]; k++ {
		a[d.Indices[k]] = d.Values[k]
	}
	return a
}

// naiveLogLoss is the textbook log-loss of logit z, written with package math.
func naiveLogLoss(z, y float64) (loss, dz float64) {
	p := 1 / (1 + math.Exp(-z))
	return -y*math.Log(p) - (1-y)*math.Log(1-p), p - y
}

// bruteLogReg computes one row's loss and gradient (penalty excluded) from the definition.
func bruteLogReg(x []float64, d *data.Dataset, r int) (float64, []float64) {
	a := dense(d, r)
	var z float64
	for j := range a {
		z += a[j] * x[j]
	}
	loss, dz := naiveLogLoss(z, d.Labels[r])
	g := make([]float64, len(x))
	for j := range a {
		g[j] = dz * a[j]
	}
	return loss, g
}

// bruteMLP computes one row's loss and gradient (penalty excluded) from the definition, with dense
// loops over the documented parameter layout.
func bruteMLP(m *MLP, x []float64, d *data.Dataset, r int) (float64, []float64) {
	F, H := m.features, m.hidden
	a := dense(d, r)
	w1 := func(j, k int) int { return j*H + k }
	b1 := func(k int) int { return F*H + k }
	w2 := func(k int) int { return F*H + H + k }
	b2 := F*H + 2*H
	h := make([]float64, H)
	z := x[b2]
	for k := range H {
		pre := x[b1(k)]
		for j := range F {
			pre += x[w1(j, k)] * a[j]
		}
		h[k] = math.Tanh(pre)
		z += x[w2(k)] * h[k]
	}
	loss, dz := naiveLogLoss(z, d.Labels[r])
	g := make([]float64, len(x))
	g[b2] = dz
	for k := range H {
		g[w2(k)] = dz * h[k]
		delta := dz * x[w2(k)] * (1 - h[k]*h[k])
		g[b1(k)] = delta
		for j := range F {
			g[w1(j, k)] = delta * a[j]
		}
	}
	return loss, g
}

// bruteMean returns the mean of per-row losses and gradients over rows plus the penalty, the
// definition Loss and Grad implement.
func bruteMean(l2 float64, x []float64, rows []int, row func(r int) (float64, []float64)) (float64, []float64) {
	g := make([]float64, len(x))
	var loss float64
	for _, r := range rows {
		l, gr := row(r)
		loss += l
		for j := range g {
			g[j] += gr[j]
		}
	}
	n := float64(len(rows))
	var sq float64
	for j := range g {
		g[j] = g[j]/n + l2*x[j]
		sq += x[j] * x[j]
	}
	return loss/n + l2/2*sq, g
}

// relErr returns ‖a − b‖ / max(‖b‖, tiny).
func relErr(a, b []float64) float64 {
	var num, den float64
	for i := range a {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den += b[i] * b[i]
	}
	return math.Sqrt(num) / math.Max(math.Sqrt(den), 1e-300)
}
