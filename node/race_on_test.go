//go:build race

package node

// raceEnabled: the race detector is on. go1.26's ThreadSanitizer sometimes aborts inside libp2p's
// mocknet (an internal CHECK failure, not a race report), so the few tests that run on mocknet skip.
const raceEnabled = true
