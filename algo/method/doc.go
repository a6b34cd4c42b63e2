// Package method implements the update rules of Byz-VR-MARINA-PP (Malinovsky, Richtárik, Horváth,
// Gorbunov, NeurIPS 2024, Algorithm 1) and the baselines it is compared with.
//
// May import: the standard library and other algo/ packages only (algo is pure: nothing of consensus,
// node, p2p, testnet or cmd, no network, no wire format). Layering checked by internal/arch.
//
// A round is written once, as a pure function Step(config, state, round's messages) → next state, so the
// in-process simulator and the networked peers run exactly the same code and obtain the same bits. The
// pieces:
//
//   - Plan: what is random about round k — the coin c_k (or the authors' fixed schedule), the sample S_k,
//     the leader of each attempt — derived from (seed, k, purpose) by package rng. Nobody can bias it,
//     everybody can recompute it.
//   - HonestMessage: what an honest member i ∈ S_k sends: its full gradient at x^{k+1} on a full round, or
//     Q(Δ̂_i) with Δ̂_i the minibatch gradient difference ∇f_i(x^{k+1}) − ∇f_i(x^k) on one minibatch.
//   - Step: the aggregation. On a partial round every received difference is clipped to
//     τ = λ‖x^{k+1} − x^k‖ before the robust aggregator, so a round whose sample is mostly Byzantine
//     moves g by at most τ-sized amounts; on a full round g^{k+1} = ARAgg of the full gradients.
//
// State indexing: State{Round: k, X: x^k, G: g^k}. The round computes x^{k+1} = x^k − γ g^k, collects
// messages at x^{k+1} (and x^k), and returns State{k+1, x^{k+1}, g^{k+1}}. The run starts from g^0 = 0
// and round 0 is always full, which is the authors' code's "start with a full round" (g^1 = ARAgg of the
// full gradients at x^0 = x^1).
//
// Variants (Config.Variant):
//   - "marina-pp": Byz-VR-MARINA-PP with clipping λ (Lambda = +Inf, or NoClip, gives Byz-VR-MARINA under
//     partial participation, the unsafe baseline; C = n gives full participation).
//   - "sgdm": robust momentum SGD: sampled members send their local momentum
//     m_i ← β m_i + (1−β) ∇f_i(x^{k+1}; minibatch), and g^{k+1} = ARAgg(m_i).
//   - "sgdm-clip": the paper's heuristic (its eq. 10) applied to robust momentum SGD:
//     g^{k+1} = g^k + ARAgg({clip_τ(m_i − g^k)}), τ = λ‖x^{k+1} − x^k‖.
package method
