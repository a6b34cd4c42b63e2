#!/usr/bin/env python3
"""The Figure-1 partial run as a plain Python/numpy loop: the reference `testnet sim` is timed against.

Usage: python3 testnet/experiment/numpy_ref.py [--rounds 10186] [--seed 1]

The same method and setting as `testnet sim --schedule 1000 --epochs 2 --seeds 1` (README, issue 14):
a9a scaled to unit rows, logistic regression with L2 0.01, 20 members holding all of it, 5 of them
Shift-Back attackers, Byz-VR-MARINA-PP with a full round every 1000 rounds, 4 of 20 members sampled
per partial round, minibatches of 32, gamma = 0.1, clipping at lambda = 1 times ||x^{k+1} - x^k||,
coordinate-wise median over buckets of 2, and the objective, the held-out loss and accuracy (a9a.t)
recorded every 25 rounds. It is what a researcher would write with numpy: dense arrays, numpy's
random generator (so the draws, and the curve's digits, are not the simulator's; the final gap is
comparable), f* by Newton's method.

It prints the final gap and the wall time of each phase on one line each, so a benchmark can run it
interleaved with the simulator (README, "Performance").
"""
import argparse
import gzip
import os
import time

import numpy as np

t_start = time.perf_counter()
HERE = os.path.dirname(os.path.abspath(__file__))
BUILTIN = os.path.join(HERE, "..", "..", "algo", "data", "builtin")
FEATURES = 123


def load(name):
    """A LIBSVM file of the repository's built-in data as dense rows scaled to unit norm, labels 0/1."""
    rows, labels = [], []
    with gzip.open(os.path.join(BUILTIN, name + ".gz"), "rt") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            labels.append(1.0 if float(parts[0]) > 0 else 0.0)
            rows.append([int(p.split(":")[0]) - 1 for p in parts[1:]])
    a = np.zeros((len(rows), FEATURES))
    for r, cols in enumerate(rows):
        a[r, cols] = 1.0
    norms = np.linalg.norm(a, axis=1)
    a[norms > 0] /= norms[norms > 0, None]
    return a, np.array(labels)


def loss(a, y, x, l2):
    z = a @ x
    return float(np.mean(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))) + 0.5 * l2 * x @ x)


def grad(a, y, x, l2):
    z = a @ x
    return a.T @ (1 / (1 + np.exp(-z)) - y) / len(y) + l2 * x


def fstar(a, y, l2):
    x = np.zeros(a.shape[1])
    for _ in range(20):
        s = 1 / (1 + np.exp(-(a @ x)))
        h = (a.T * (s * (1 - s))) @ a / len(y) + l2 * np.eye(a.shape[1])
        step = np.linalg.solve(h, grad(a, y, x, l2))
        x -= step
        if np.linalg.norm(step) < 1e-10:  # quadratic convergence: f* is then exact to rounding
            break
    return loss(a, y, x, l2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10186)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    n, byz, sampled, batch, lr, lam, l2, schedule, every = 20, 5, 4, 32, 0.1, 1.0, 0.01, 1000, 25
    t0 = time.perf_counter()
    a, y = load("a9a")
    at, yt = load("a9a.t")
    t1 = time.perf_counter()
    fs = fstar(a, y, l2)
    t2 = time.perf_counter()

    rng = np.random.default_rng(args.seed)
    is_byz = np.arange(n) >= n - byz
    x0 = np.zeros(FEATURES)
    x, g = x0.copy(), np.zeros(FEATURES)
    points = []

    def record(k):
        points.append((k, loss(a, y, x, l2) - fs, loss(at, yt, x, l2), float(np.mean(((at @ x) > 0) == (yt == 1)))))

    record(0)
    for k in range(args.rounds):
        x1 = x - lr * g
        if k % schedule == 0:  # full round: every member's full gradient, the same vector
            full = grad(a, y, x1, l2)
            msgs = [full] * n
            tau = np.inf
        else:
            sample = np.sort(rng.choice(n, sampled, replace=False))
            byz_in = int(is_byz[sample].sum())
            msgs = []
            for i in sample:
                if is_byz[i] and 2 * byz_in > len(sample):  # Shift-Back
                    msgs.append((x1 - x0) / lr - g)
                    continue
                rows = rng.choice(len(y), batch, replace=False)
                msgs.append(grad(a[rows], y[rows], x1, l2) - grad(a[rows], y[rows], x, l2))
            tau = lam * np.linalg.norm(x1 - x)
        m = np.array(msgs)
        if np.isfinite(tau):
            norms = np.linalg.norm(m, axis=1)
            over = norms > tau
            m[over] *= (tau / norms[over])[:, None]
        perm = rng.permutation(len(m))
        buckets = np.array([m[perm[i:i + 2]].mean(axis=0) for i in range(0, len(m), 2)])
        agg = np.median(buckets, axis=0)
        g = agg if k % schedule == 0 else g + agg
        x = x1
        if (k + 1) % every == 0 or k == args.rounds - 1:
            record(k + 1)
    t3 = time.perf_counter()
    print(f"final gap {points[-1][1]:.3e}, test accuracy {points[-1][3]:.4f}, {len(points)} points")
    print(f"wall after the imports: data {t1 - t0:.3f} s, f* {t2 - t1:.3f} s, rounds and scoring {t3 - t2:.3f} s, "
          f"total {t3 - t_start:.3f} s")


if __name__ == "__main__":
    main()
