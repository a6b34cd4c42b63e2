// Package up runs a real multi-process testnet on 127.0.0.1 — the adversarial harness behind
// `testnet up`.
//
// May import: anything but cmd/ (the harness drives real peer processes and reads their status).
// Layering checked by internal/arch.
//
// Run generates (or reuses) one key per member, writes a genesis, and starts every member as its own
// `peer run` process; Byzantine members get `--attack NAME`, the attack list assigned round-robin.
// Learning-level attacks (algo/attack) change what a member reports; network-level ones (badagg,
// equivocate, …) are the peer binary's business, and a peer that does not know one exits at once,
// which Run reports with the tail of its log. The genesis records the learning-level equivalent of
// the attacks, so a run without network faults has a `testnet sim` twin with the same curve, number
// for number (Options.CheckSim verifies it).
//
// While the run lasts, Run polls every peer's /status concurrently, hands each poll's Snapshot to a
// live view, keeps a state file (state.json) for `testnet status`, and applies faults when the
// network reaches their round: Kill (SIGKILL and a restart on the same state directory) and
// Partition (the minority and the rest block each other through the peers' /control endpoint for a
// while; see Partition). Latency is passed to the peers (`--publish-delay`), as loopback has no netem
// here. Each peer runs with GOMAXPROCS = max(1, cores/n).
//
// Outsider attacks (Outsider, outsider.go) come from identities outside the genesis: the harness runs
// `testnet outsider` (package testnet/outsider) as its own process for a while, against every member.
// At every poll the harness samples the rounds every honest peer has decided and the honest peer
// processes' memory (VmRSS, VmHWM from /proc), and the report compares the honest rate over the
// window before each attack, during it and after it (WindowRates), the peak memory before and during,
// and how many honest peers blocked or graylisted the attacker's identities (their /status "blocked"
// and "penalised" lists).
//
// Whatever ends the run — every honest peer at the target round, ctx cancelled, a timeout, a peer
// that died — Run stops every peer (SIGTERM, SIGKILL after a grace period; peers also get SIGTERM
// if the harness itself dies, through the parent-death signal) and writes report.json, curves.csv,
// curves.png and report.md into the output directory.
package up
