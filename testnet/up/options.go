package up

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/genesis"
)

// ErrOptions is wrapped by every invalid-option error.
var ErrOptions = errors.New("testnet up: invalid options")

// ErrPeerExited is wrapped when a peer process exits on its own before the run is over (for example
// because it does not know the attack it was given); the error names its log file.
var ErrPeerExited = errors.New("testnet up: peer exited early")

// Options of one testnet.
type Options struct {
	// Spec is the training spec; Members, Byzantine and Rounds size the run. Its Attack is replaced
	// by GenesisAttack(Assign(Attacks, Byzantine)) when Attacks is set.
	Spec sim.Spec
	// Attacks run by the Byzantine peers, round-robin (learning-level or network-level names).
	// Empty: every Byzantine peer runs Spec.Attack.
	Attacks []string
	Series  string // series name in curves.csv ("" : "up")
	Out     string // output directory
	PeerBin string // peer binary ("" : next to this executable, else go build)
	// Timeout gives up after this long (0: 10 minutes); Grace is how long a peer may take to stop
	// after SIGTERM before it is killed (0: 5 s).
	Timeout, Grace time.Duration
	Kills          []Kill
	Partitions     []Partition
	// Joins and Leaves make the run open (genesis open, max members n + all joins): volunteers join
	// and members leave at the given rounds (Churn).
	Joins, Leaves []Churn
	// SilentRounds > 0 makes the run open with silent removal: a member that signed nothing for that
	// many decided rounds is removed by a decided change (genesis silent_rounds).
	SilentRounds int
	// Outsiders are attacks by identities outside the genesis, one at a time (--outsider, outsider.go),
	// run by OutsiderBin's `testnet outsider` ("" : this executable if it is the testnet binary, else
	// go build).
	Outsiders   []Outsider
	OutsiderBin string
	// Latency delays every outgoing protocol message of every peer, direct sends and gossip
	// publishes (passed as `peer run --publish-delay`).
	Latency time.Duration
	// Profile makes every peer write a CPU profile of its whole run to member-I/cpu.pprof (peer run
	// --cpuprofile), to see where a round's time goes.
	Profile bool
	// PeerLogLevel, if set, is every peer's --log-level (debug, info, warn, error).
	PeerLogLevel string
	// Timeouts, if set, replace the genesis' default protocol timeouts. Honest peers only wait out a
	// timeout when something is missing, so generous ones slow a healthy run down not at all and
	// keep a loaded machine from turning a late message into a different run (tests use them).
	Timeouts *genesis.Timeouts
	// PollEvery spaces the /status polls (0: 300 ms). OnSnapshot, if set, receives every poll's
	// snapshot (for a live view); it runs on the polling goroutine and must return quickly.
	PollEvery time.Duration
	// CheckSim runs the simulator on the same spec after a run that should match it and records in
	// the report whether the curves are equal number for number.
	CheckSim bool
	// NoFStar leaves f* out of the genesis, so the peers report no gap and the sim replay computes
	// none: the MLP's f* is an L-BFGS run of full gradients, hours for a million parameters.
	NoFStar    bool
	OnSnapshot func(*Snapshot)
	Logger     *slog.Logger
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.Out == "":
		return fmt.Errorf("%w: no output directory", ErrOptions)
	case o.Spec.Members < 1:
		return fmt.Errorf("%w: n = %d", ErrOptions, o.Spec.Members)
	case o.Timeout < 0 || o.Grace < 0 || o.PollEvery < 0 || o.Latency < 0:
		return fmt.Errorf("%w: negative duration", ErrOptions)
	}
	if err := o.Spec.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	if n, b := o.Spec.Members, o.Spec.Byzantine; 3*b >= n {
		return fmt.Errorf("%w: %d Byzantine of %d members: consensus (BFT) needs n > 3·byz, so at most %d", ErrOptions, b, n, max(0, (n-1)/3))
	}
	switch o.PeerLogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("%w: peer log level %q (want debug, info, warn or error)", ErrOptions, o.PeerLogLevel)
	}
	honest := o.Spec.Members - o.Spec.Byzantine
	// After the leaves (and the joins due before the last of them) the honest members must still be
	// more than two thirds.
	left, lastLeave, joined := 0, uint64(0), 0
	for _, l := range o.Leaves {
		left, lastLeave = left+l.Count, max(lastLeave, l.Round)
	}
	for _, j := range o.Joins {
		if j.Round <= lastLeave {
			joined += j.Count
		}
	}
	if h, m := honest-left+joined, o.Spec.Members-left+joined; left > 0 && 3*h <= 2*m {
		return fmt.Errorf("%w: --leave of %d members would leave %d honest of %d members: not more than two thirds", ErrOptions, left, h, m)
	}
	for _, k := range o.Kills {
		if k.Count < 1 || k.Count > honest {
			return fmt.Errorf("%w: --kill %d@%d: there are %d honest peers", ErrOptions, k.Count, k.Round, honest)
		}
		if k.Down < 0 {
			return fmt.Errorf("%w: --kill: negative down time", ErrOptions)
		}
	}
	for _, x := range o.Outsiders {
		if _, err := ParseOutsider(x.String()); err != nil {
			return err
		}
	}
	for _, p := range o.Partitions {
		if !(p.Fraction > 0 && p.Fraction < 0.5) || p.Duration <= 0 {
			return fmt.Errorf("%w: partition %+v", ErrOptions, p)
		}
		if p.cutSize(o.Spec.Members) > honest {
			return fmt.Errorf("%w: a partition of %v cuts %d peers but only %d are honest", ErrOptions, p.Fraction, p.cutSize(o.Spec.Members), honest)
		}
	}
	return nil
}

func (o *Options) withDefaults() {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Grace == 0 {
		o.Grace = 5 * time.Second
	}
	if o.PollEvery == 0 {
		o.PollEvery = 300 * time.Millisecond
	}
	if o.Series == "" {
		o.Series = "up"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}
