// Package sim runs Byz-VR-MARINA-PP (and its baselines) in one process, deterministically from a seed.
//
// May import: the standard library and other algo/ packages only (algo is pure: nothing of consensus,
// node, p2p, testnet or cmd, no network, no wire format). Layering checked by internal/arch.
//
// Spec is the whole, JSON-serialisable description of a training run — data, model, members, attack,
// method and its hyper-parameters. The simulator and the networked peers (whose genesis file embeds a
// Spec) build the same Setup from it, so the same Spec and seed give the same bits in both.
//
// Run drives the rounds: it derives each round's plan, lets the honest sampled members compute their
// messages, lets the Byzantine ones craft theirs (seeing the honest messages, as an omniscient attacker
// does), applies method.Step, and records the loss and the gap f(x) − f* of the honest objective
// f = (1/G) Σ_{i honest} f_i every few rounds, with the objective and the accuracy of the model on a
// held-out set (Spec.TestData; a9a's test split a9a.t by default for a9a). RunMany runs several (series, seed) jobs on all cores; each
// job is independent, so the results do not depend on scheduling.
package sim
