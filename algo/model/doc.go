// Package model holds the objectives byzpp trains — L2-regularised logistic regression (LogReg, the
// paper's Figure 1 objective) and a one-hidden-layer tanh network (MLP) — and the optimum f* against
// which runs report their optimality gap f(x) − f*.
//
// Every member computes gradients on its own machine, and peers compare what honest members should
// have sent bit for bit, so Loss and Grad are deterministic to the last bit on every platform: plain
// loops in a fixed order, every multiply-add written float64(a*b) + c so no compiler fuses it, and
// elementary functions (exp, log1p, tanh) implemented here rather than taken from package math, whose
// amd64 exp switches to FMA instructions on CPUs that have them. Everything is single-threaded.
//
// The log-loss is computed in its stable split form [max(z, 0) − y·z] + ln(1 + e^−|z|), which never
// overflows. The logarithms of a pass are accumulated as one product (logSum) and taken once, so a pass
// costs one exponential per row, computed by a division-free table method in bulk for blocks of 16
// rows; the choice between the two sides of z = 0 is made on bits rather than by a branch. On a9a a full
// gradient costs about 2.6× a loop that only streams the nonzeros once and sums them (bench_test.go):
// it has to stream them twice (dot product, then scatter), each pass at about the floor's speed, plus
// the exponentials. The loss alone costs about 1.6×.
//
// OptimalLoss computes f* = min_x (1/S) Σ_s Loss_s(x) over shards: Newton's method with a Cholesky
// solve for logistic regression (f* to about 1e-15), L-BFGS for the MLP (the best value found, since
// that problem is non-convex). FStar caches it in memory and on disk, keyed by the model's
// configuration and the shards' hashes.
package model
