package up

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kill is a --kill K@ROUND fault: once the honest peers reach Round, K honest peers are killed with
// SIGKILL and restarted on the same state directory after Down; they must resume and catch up.
type Kill struct {
	Count int
	Round uint64
	Down  time.Duration
	// Forever: a --crash K@ROUND fault — the peers are killed and never restarted (a laptop that is
	// gone); the others must go on without them.
	Forever bool
}

// ParseCrash parses "K@ROUND" for --crash.
func ParseCrash(s string) (Kill, error) {
	k, err := ParseKill(s)
	if err != nil {
		return Kill{}, fmt.Errorf("%w: --crash %q: want K@ROUND", ErrOptions, s)
	}
	k.Forever, k.Down = true, 0
	return k, nil
}

// Partition is a --partition FRACTION@ROUND+DURATION fault: once the honest peers reach Round, a
// minority of ⌈Fraction·n⌉ honest peers is cut off for Duration. The peers are started with
// `peer run --control`, and the cut is made through it: each minority peer blocks every other peer
// and every other peer blocks the minority (connections closed and refused, no gossip, no streams),
// then both sides unblock. Both sides keep running, so the minority runs its own timeouts and
// attempts meanwhile — a true partition. With a peer binary that lacks --control, the minority's
// processes are frozen instead (SIGSTOP, then SIGCONT): the majority sees the same cut, but the
// minority does nothing meanwhile.
type Partition struct {
	Fraction float64
	Round    uint64
	Duration time.Duration
}

// Churn is a --join K@ROUND or --leave K@ROUND event of an open run: once the honest peers reach
// Round, K volunteers (keys outside the genesis) start with only a bootstrap address and no genesis
// file, and join through decided membership changes; or K honest members ask to leave
// (POST /control/leave) and stop once their leave is decided.
type Churn struct {
	Count int
	Round uint64
}

// ParseChurn parses "K@ROUND" for the named flag.
func ParseChurn(flag, s string) (Churn, error) {
	k, err := ParseKill(s)
	if err != nil {
		return Churn{}, fmt.Errorf("%w: --%s %q: want K@ROUND", ErrOptions, flag, s)
	}
	return Churn{Count: k.Count, Round: k.Round}, nil
}

// DefaultKillDown is how long a killed peer stays down before it is restarted.
const DefaultKillDown = 2 * time.Second

// ParseKill parses "K@ROUND".
func ParseKill(s string) (Kill, error) {
	k, r, ok := strings.Cut(strings.TrimSpace(s), "@")
	if !ok {
		return Kill{}, fmt.Errorf("%w: --kill %q: want K@ROUND", ErrOptions, s)
	}
	count, err := strconv.Atoi(k)
	if err != nil || count < 1 {
		return Kill{}, fmt.Errorf("%w: --kill %q: K must be a positive integer", ErrOptions, s)
	}
	round, err := strconv.ParseUint(r, 10, 64)
	if err != nil {
		return Kill{}, fmt.Errorf("%w: --kill %q: ROUND must be a round number", ErrOptions, s)
	}
	return Kill{Count: count, Round: round, Down: DefaultKillDown}, nil
}

// ParsePartition parses "FRACTION@ROUND+DURATION", e.g. "0.3@20+5s".
func ParsePartition(s string) (Partition, error) {
	f, rest, ok := strings.Cut(strings.TrimSpace(s), "@")
	r, d, ok2 := strings.Cut(rest, "+")
	if !ok || !ok2 {
		return Partition{}, fmt.Errorf("%w: --partition %q: want FRACTION@ROUND+DURATION (e.g. 0.3@20+5s)", ErrOptions, s)
	}
	frac, err := strconv.ParseFloat(f, 64)
	if err != nil || !(frac > 0 && frac < 0.5) {
		return Partition{}, fmt.Errorf("%w: --partition %q: FRACTION must be in (0, 0.5): a minority", ErrOptions, s)
	}
	round, err := strconv.ParseUint(r, 10, 64)
	if err != nil {
		return Partition{}, fmt.Errorf("%w: --partition %q: ROUND must be a round number", ErrOptions, s)
	}
	dur, err := time.ParseDuration(d)
	if err != nil || dur <= 0 {
		return Partition{}, fmt.Errorf("%w: --partition %q: DURATION must be positive, like 5s", ErrOptions, s)
	}
	return Partition{Fraction: frac, Round: round, Duration: dur}, nil
}

// cutSize is how many peers a partition of fraction cuts off from n: ⌈fraction·n⌉, at least 1.
func (p Partition) cutSize(n int) int {
	return max(1, int(math.Ceil(float64(n)*p.Fraction-1e-9)))
}

// firstHonest returns the indices of the first k honest peers (Byzantine members are the last
// indices, so the choice never depends on the attack).
func firstHonest(honest []bool, k int) []int {
	var out []int
	for i, h := range honest {
		if h && len(out) < k {
			out = append(out, i)
		}
	}
	return out
}
