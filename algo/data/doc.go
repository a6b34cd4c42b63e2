// Package data reads LIBSVM binary-classification data sets into a compressed sparse row (CSR) Dataset,
// embeds the a9a data set and its held-out test split a9a.t in the binary, and splits a data set among the members of a run.
//
// May import: the standard library and other algo/ packages only (algo is pure: nothing of consensus,
// node, p2p, testnet or cmd, no network, no wire format). Layering checked by internal/arch.
//
// Every member of a run must train on exactly the same numbers, so a Dataset has one canonical form:
// labels are mapped to {0, 1}, explicit zeros in the file are dropped, and column indices are 0-based and
// strictly increasing within a row. Dataset.Hash digests that form (not the file's bytes or name), so a
// genesis file can pin the data whatever path or compression each peer loaded it from.
//
// The reader treats its input as hostile: it never panics, reports the line and the problem
// (ParseError, wrapping ErrFormat), and refuses input beyond configurable limits (ErrLimit) before it can
// exhaust memory.
//
// Split hands each member its shard: the whole data set (the paper's Figure 1 setting), an i.i.d.
// shuffle cut into equal parts, or a label-sorted cut that makes the members' data heterogeneous. The
// shuffle comes from algo/rng, so every peer derives the same shards from the run's seed.
package data
