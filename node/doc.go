// Package node runs one byzpp peer: it wires the training engine (node/engine), the BFT state machine
// (consensus) and the network (p2p, p2p/wire) together.
//
// One goroutine, the event loop in Run, owns the engine and the consensus machine. Gossip readers and
// stream handlers never touch them: they decode and check what arrives (signature, run id, member,
// round window, dimensions, finiteness) and hand the result to the loop over channels. That keeps every
// decision about the model in one sequential place, which is what makes honest peers derive
// bit-identical states.
//
// Per training round k (consensus height k): sampled members gossip their signed round message; the
// leader of (k, attempt) waits for the sample (or CollectTicks) and proposes the included message
// digests and the resulting state digest; every peer fetches missing messages, re-derives the state
// with algo/ and votes; a decision (>2/3 precommits) is committed, persisted with its certificate, and
// the next height starts. A peer that falls behind adopts a certified state from a peer.
//
// Byzantine behaviour for testnets is configured with Config.Attack: learning-level attacks from
// algo/attack (the member crafts its round message from the honest messages it saw, as sim.Runner
// does) and protocol-level ones ("mute": send nothing at all; "wrong-digest": as leader, propose a
// state digest that does not match the included messages).
package node
