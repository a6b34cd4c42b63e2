// Package modelfile is the portable form of a byzpp run's model: what a peer writes at the end of
// the run, `peer export` writes from a stopped peer's state directory, GET /model serves and
// `peer verify-model` checks.
//
// May import: algo/, node/genesis, node/roster, p2p/wire and the standard library; not package node
// (cmd/peer and node both use it). Layering checked by internal/arch.
//
// A model is two files side by side:
//
//   - STEM.npy: the weights x as a NumPy .npy file (1-D, little-endian float64; npy.go). A Python
//     user needs nothing of byzpp to use them: numpy.load("model.npy").
//   - STEM.json: the sidecar (Meta): run id, round, state digest, dimension, model kind, and the proof
//     that the run's members decided exactly these weights — the certificate of the decision (signer
//     indices, their peer IDs, base64 Ed25519 signatures), the decided proposal and the state's
//     gradient estimate g (the state digest covers x and g), and for an open run the member changes
//     decided since the genesis.
//
// Why two files and not one: the weights stay in the format every numerical tool reads, untouched by
// anything byzpp-specific (a .npy header cannot carry extra keys: numpy refuses them), while the
// provenance stays readable JSON. The sidecar names the .npy and its SHA-256, and Verify recomputes
// the state digest from the .npy's weights, so the pair cannot be mixed up with another run's or
// another round's weights without Verify saying so.
//
// The weights file of a decided round is byte-identical on every honest peer. The sidecars agree on
// everything but, possibly, the certificate: each peer holds some quorum of the same decision's
// precommits, and any quorum proves it.
package modelfile
