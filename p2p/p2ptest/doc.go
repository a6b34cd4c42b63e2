// Package p2ptest builds networks of p2p.Host on libp2p's in-memory mocknet, for tests of p2p and of
// the packages built on it (node). Hosts are real p2p.Hosts — same gossip, validators, scoring,
// streams and blocking as in production — over an in-process transport.
//
// May import: p2p, libp2p (mocknet) and the standard library; for tests only. Layering checked by
// internal/arch.
//
// Use it inside a testing/synctest bubble (synctest.Test): gossipsub's heartbeats and every timeout then
// run on the bubble's fake clock, so tests are fast and deterministic, and the bubble fails the test if
// any goroutine outlives it. The network is closed by t.Cleanup.
package p2ptest
