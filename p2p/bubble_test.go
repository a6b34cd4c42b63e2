package p2p_test

import (
	"runtime"
	"testing"
	"testing/synctest"
)

// bubble runs f in a synctest bubble. Under the race detector it pins GOMAXPROCS to 1, as
// go-libp2p-pubsub's own tests do: ThreadSanitizer otherwise trips an internal check on bubbles with
// thousands of short-lived goroutines.
func bubble(t *testing.T, f func(t *testing.T)) {
	if raceEnabled {
		prev := runtime.GOMAXPROCS(1)
		t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	}
	synctest.Test(t, f)
}
