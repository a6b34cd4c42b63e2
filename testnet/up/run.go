package up

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/byzpp/byzpp/node/status"
)

// ErrTimeout is returned when the run does not finish within Options.Timeout.
var ErrTimeout = errors.New("testnet up: timed out")

// Run starts the testnet, drives its faults, waits until every honest peer has decided Spec.Rounds
// rounds, stops every peer (SIGTERM, then SIGKILL after Grace) and writes report.json, curves.csv,
// curves.png and report.md to Out. It also writes the report, marked with its outcome, when the run
// is interrupted (ctx cancelled), times out or a peer dies; it returns the report with the error.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.withDefaults()
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	pl, err := prepare(ctx, &o)
	if err != nil {
		return nil, err
	}
	procs := pl.procs
	target := uint64(o.Spec.Rounds)
	tr := newTracker(len(procs), target)
	state := &State{PID: os.Getpid(), Started: tr.start}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopAll(procs, o.Grace, o.Logger.Warn)
		}
	}
	defer stop()
	for _, p := range procs {
		if p.volunteer {
			continue // started by a --join
		}
		if err := p.start(); err != nil {
			return nil, err
		}
		o.Logger.Info("started peer", "member", p.index, "honest", p.honest, "attack", p.attack, "pid", p.cmd.Process.Pid)
	}
	d := &driver{o: &o, procs: procs, tr: tr, control: pl.control, addrs: pl.addrs, runID: pl.runID, outsiderBin: pl.outsiderBin}
	defer d.stopOutsiders()
	runErr := d.loop(ctx, state)
	d.stopOutsiders()
	phase := "done"
	switch {
	case runErr == nil:
	case errors.Is(runErr, context.Canceled):
		phase = "interrupted"
	case errors.Is(runErr, ErrTimeout):
		phase = "timed-out"
	default:
		phase = "failed"
	}
	// The curve is read before the peers stop; any honest peer that answers will do, as they agree.
	curve := d.fetchCurve()
	var fm *finalModel
	if runErr == nil {
		// model.go: the final model, from an honest peer that still serves it (peers linger after the end).
		var err error
		if fm, err = d.fetchModel(pl.genesis); err != nil {
			o.Logger.Warn("no final model from the honest peers", "err", err)
		}
	}
	wall := time.Since(tr.start).Seconds()
	stop()
	snap := tr.snapshot(procs, phase)
	state.Snapshot = snap
	if runErr != nil {
		state.Error = runErr.Error()
	}
	_ = writeState(o.Out, state)
	rep := buildReport(&o, pl, tr, snap, curve, wall)
	rep.Outsiders, rep.HonestPeakRSS = d.outsiderReports(), HonestPeak(d.samples)
	if len(rep.Outsiders) > 0 {
		rep.Timeline = d.samples
	}
	if fm != nil {
		if err := writeModel(&o, rep, fm); err != nil && runErr == nil {
			runErr = err
		}
	}
	if err := writeOutputs(ctx, &o, rep, curve); err != nil && runErr == nil {
		runErr = err
	}
	return rep, runErr
}

// driver is the polling loop's state.
type driver struct {
	o       *Options
	procs   []*proc
	tr      *tracker
	kills   int // Options.Kills already applied, in order
	parts   int
	joins   int // Options.Joins and Leaves already applied
	leaves  int
	cut     *partition // the partition in progress, if any (partition.go)
	control bool       // the peers serve /control (started with --control)
	client  *http.Client
	// outsider.go and samples.go: the --outsider attacks started so far, and the honest peers'
	// rounds and memory at every poll.
	outs        []*outsiderRun
	samples     []Sample
	addrs       []string
	runID       [32]byte
	outsiderBin string
}

func (d *driver) loop(ctx context.Context, state *State) error {
	d.client = &http.Client{Timeout: 2 * time.Second}
	deadline := time.After(d.o.Timeout)
	var lastState time.Time
	for {
		if err := d.checkExits(); err != nil {
			return err
		}
		polled := pollAll(ctx, d.client, d.procs)
		d.tr.update(d.procs, polled)
		d.sample()
		d.watchOutsider()
		if err := d.faults(); err != nil {
			return err
		}
		snap := d.tr.snapshot(d.procs, "running")
		if d.o.OnSnapshot != nil {
			d.o.OnSnapshot(snap)
		}
		if time.Since(lastState) > time.Second {
			state.Snapshot = snap
			if err := writeState(d.o.Out, state); err != nil {
				d.o.Logger.Warn("writing the state file", "err", err)
			}
			lastState = time.Now()
		}
		if d.finished(snap) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("%w after %v at round %d of %d", ErrTimeout, d.o.Timeout, snap.Round, snap.Target)
		case <-time.After(d.o.PollEvery):
		}
	}
}

// finished: every honest peer has decided the target, and no fault is still in progress.
func (d *driver) finished(snap *Snapshot) bool {
	if snap.Round < snap.Target || d.cut != nil {
		return false
	}
	for _, p := range d.procs {
		if !p.restart.IsZero() {
			return false
		}
	}
	return true
}

// checkExits fails the run when a peer has exited without the harness asking it to.
func (d *driver) checkExits() error {
	for _, p := range d.procs {
		if p.cmd == nil || p.expected || p.running() {
			continue
		}
		if p.leaving && p.err == nil {
			p.expected = true // it left the run, as asked
			d.tr.event(d.procs, "left the run (its leave was decided) and stopped", []int{p.index})
			continue
		}
		if s := d.tr.last[p.index]; p.err == nil && s != nil && s.Round >= d.tr.target {
			p.expected = true // the run is over for it: it wrote the model, lingered and exited 0
			d.tr.event(d.procs, "finished the run and exited", []int{p.index})
			continue
		}
		return fmt.Errorf("%w: member %d (attack %q): %v; see %s:\n%s", ErrPeerExited, p.index, p.attack, p.err,
			p.logPath(), p.logTail(5))
	}
	return nil
}

// faults applies the kills and partitions whose round the network has reached, restarts killed peers
// whose down time is over and heals a partition whose duration is over.
func (d *driver) faults() error {
	_, hi := d.tr.honestRounds(d.procs)
	now := time.Now()
	for _, p := range d.procs {
		if !p.restart.IsZero() && now.After(p.restart) {
			if err := p.start(); err != nil {
				return err
			}
			p.restart, p.restarts = time.Time{}, p.restarts+1
			d.tr.event(d.procs, "restarted on its state directory", []int{p.index})
		}
	}
	if d.cut != nil && now.After(d.cut.healAt) {
		if err := d.healPartition(); err != nil {
			return err
		}
	}
	for d.kills < len(d.o.Kills) && hi >= d.o.Kills[d.kills].Round {
		k := d.o.Kills[d.kills]
		d.kills++
		victims := firstHonest(d.runningHonest(), k.Count)
		for _, i := range victims {
			d.procs[i].kill9()
			if k.Forever {
				d.procs[i].crashed = true // no restart; no longer counted for progress
				continue
			}
			d.procs[i].restart = now.Add(k.Down)
		}
		if k.Forever {
			d.tr.event(d.procs, "crashed (SIGKILL, never restarted)", victims)
		} else {
			d.tr.event(d.procs, fmt.Sprintf("killed with SIGKILL (restart in %v)", k.Down), victims)
		}
	}
	if err := d.churn(hi); err != nil {
		return err
	}
	if err := d.outsiders(hi); err != nil {
		return err
	}
	if d.cut == nil && d.parts < len(d.o.Partitions) && hi >= d.o.Partitions[d.parts].Round {
		pt := d.o.Partitions[d.parts]
		d.parts++
		if err := d.startPartition(pt, now); err != nil {
			return err
		}
	}
	return nil
}

// runningHonest marks the honest peers not crashed for good (--crash).
func (d *driver) runningHonest() []bool {
	out := d.honest()
	for i, p := range d.procs {
		out[i] = out[i] && !p.crashed
	}
	return out
}

func (d *driver) honest() []bool {
	out := make([]bool, len(d.procs))
	for i, p := range d.procs {
		out[i] = p.honest
	}
	return out
}

// fetchCurve asks the honest peers for their recorded curves and keeps the longest: honest peers
// agree on every point, but a peer that was killed and restarted has recorded only since its restart.
func (d *driver) fetchCurve() []status.Point {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var best []status.Point
	for _, p := range d.procs {
		if !p.honest || !p.running() || p.frozen {
			continue
		}
		if s, err := getStatus(ctx, d.client, p.http, true); err == nil && len(s.Curve) > len(best) {
			best = s.Curve
		}
	}
	return best
}
