package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
)

// TimeoutConfig gives one of the three timeouts in ticks: attempt r waits Base + r·Delta ticks, so
// timeouts grow until they exceed the (unknown) message delay after GST, which is what makes
// Algorithm 1 live. They restart from Base at every height.
type TimeoutConfig struct {
	Base, Delta uint32
}

// ticks returns the timeout of attempt r, saturating instead of wrapping.
func (t TimeoutConfig) ticks(r uint32) uint64 {
	return uint64(t.Base) + uint64(r)*uint64(t.Delta)
}

// Defaults used when the corresponding Config field is zero.
const (
	DefaultFutureBufferPerSender = 256
)

// MaxMembers bounds N: the machine keeps per-member state for every attempt it tracks.
const MaxMembers = 1 << 14

// Bounds that keep a hostile member from growing our memory without limit.
const (
	// maxRound keeps round+1 and every round representable as the int32 of POLRound/lockedRound.
	maxRound = math.MaxInt32 - 1
	// farRoundsPerSender is how many attempts beyond round_p+1 one member may hold messages in; when a
	// member moves further, its lowest such attempt is forgotten. Correct members only move forward,
	// so their newest attempt, the one line 55 needs, is always kept.
	farRoundsPerSender = 2
	// maxProposalsPerRound is how many distinct proposals of one attempt are stored: the first and
	// the one that proves equivocation. The leader's further messages are ignored anyway.
	maxProposalsPerRound = 2
)

// Config describes one member's view of the committee. Members are 0..N−1 with equal weight.
type Config struct {
	Self, N int
	// Proposer returns the leader of (height, round); every member must compute the same function
	// (derived from the shared seed). A result outside 0..N−1 means no member leads that attempt.
	Proposer func(height uint64, round uint32) int
	// Propose, Prevote and Precommit are timeoutPropose, timeoutPrevote and timeoutPrecommit.
	Propose, Prevote, Precommit TimeoutConfig
	// RebroadcastEvery is the number of ticks between repeats of our messages of the current height
	// (the latest ones and a rotating few older ones) and relays of others' votes while we have not
	// moved (Ready.Relay). 0 disables both, which is only safe on a network that never loses messages.
	RebroadcastEvery uint32
	// MaxFutureHeights bounds how far ahead of the current height messages are buffered (0: none).
	MaxFutureHeights uint64
	// FutureBufferPerSender bounds how many future-height messages are kept per sender
	// (0: DefaultFutureBufferPerSender).
	FutureBufferPerSender int
	// Logger receives debug logs of every transition; nil discards them.
	Logger *slog.Logger

	// mutation is for tests only: it breaks one rule on purpose so that the fault-schedule checker
	// (faultsched_test.go) can show it catches the bug. The zero value is the correct machine, and
	// nothing outside this package can set it.
	mutation mutation
}

// mutation names a deliberate bug for Config.mutation (tests only).
type mutation uint8

const (
	mutationNone mutation = iota
	// mutationIgnoreLock prevotes a fresh proposal (line 23) although locked on another value.
	mutationIgnoreLock
	// mutationWeakPOL accepts a proof of lock (line 28) with f+1 prevotes instead of 2f+1.
	mutationWeakPOL
)

// ErrConfig is wrapped by every Config.Validate error.
var ErrConfig = errors.New("consensus: invalid config")

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.N < 1 || c.N > MaxMembers:
		return fmt.Errorf("%w: N = %d, need 1..%d members", ErrConfig, c.N, MaxMembers)
	case c.Self < 0 || c.Self >= c.N:
		return fmt.Errorf("%w: Self = %d outside 0..%d", ErrConfig, c.Self, c.N-1)
	case c.Proposer == nil:
		return fmt.Errorf("%w: Proposer function missing", ErrConfig)
	case c.Propose.Base == 0 || c.Prevote.Base == 0 || c.Precommit.Base == 0:
		// A zero timeout would fire in the tick it was scheduled, before any vote could arrive.
		return fmt.Errorf("%w: every timeout Base must be at least 1 tick", ErrConfig)
	case c.FutureBufferPerSender < 0:
		return fmt.Errorf("%w: FutureBufferPerSender = %d is negative", ErrConfig, c.FutureBufferPerSender)
	}
	return nil
}

// Quorum is 2f+1 for N members: ⌊2N/3⌋+1, the smallest count two of which always share a correct member.
func Quorum(n int) int { return 2*n/3 + 1 }

// WeakQuorum is f+1 for N members, f = ⌊(N−1)/3⌋: the smallest count that surely includes a correct member.
func WeakQuorum(n int) int { return (n-1)/3 + 1 }
