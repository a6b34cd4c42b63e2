package up

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/byzpp/byzpp/testnet/outsider"
)

// Outsider is a --outsider KIND@ROUND+DURATION attack: once the honest peers reach Round, the
// harness runs `testnet outsider --kind KIND` (package testnet/outsider) as its own process for
// Duration, with fresh identities outside the genesis, against every member. The report compares the
// honest peers' rate before, during and after the attack and their memory, and says whether they
// blocked or graylisted the attacker.
type Outsider struct {
	Kind     string
	Round    uint64
	Duration time.Duration
}

func (o Outsider) String() string { return fmt.Sprintf("%s@%d+%v", o.Kind, o.Round, o.Duration) }

// ParseOutsider parses "KIND@ROUND+DURATION", e.g. "sybil@200+15s".
func ParseOutsider(s string) (Outsider, error) {
	bad := func(why string) (Outsider, error) {
		return Outsider{}, fmt.Errorf("%w: --outsider %q: %s", ErrOptions, s, why)
	}
	k, rest, ok := strings.Cut(strings.TrimSpace(s), "@")
	r, d, ok2 := strings.Cut(rest, "+")
	if !ok || !ok2 {
		return bad("want KIND@ROUND+DURATION (e.g. sybil@200+15s)")
	}
	if !slices.Contains(outsider.Kinds, k) {
		return bad("KIND must be one of " + strings.Join(outsider.Kinds, ", "))
	}
	round, err := strconv.ParseUint(r, 10, 64)
	if err != nil {
		return bad("ROUND must be a round number")
	}
	dur, err := time.ParseDuration(d)
	if err != nil || dur <= 0 || dur > outsider.MaxDuration {
		return bad(fmt.Sprintf("DURATION must be positive and at most %v, like 15s", outsider.MaxDuration))
	}
	return Outsider{Kind: k, Round: round, Duration: dur}, nil
}

// Names the run's protocols and topics as node does (node/node.go, node/direct.go,
// node/membership.go): under p2p's default prefix, topics suffixed with the run id.
var (
	outsiderTopics  = []string{"round", "consensus"}
	outsiderStreams = []string{"direct/1", "msgs/1", "state/1", "member/1"}
)

// outsiderRun is one --outsider in progress or done.
type outsiderRun struct {
	spec   Outsider
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	start  time.Time
	end    time.Time // when it exited (zero while running)
	killAt time.Time
	ids    map[string]bool
	// blockedBy and graylistedBy: honest member indices whose /status listed one of its IDs as
	// blocked or penalised at some poll since it started.
	blockedBy, graylistedBy map[int]bool
	// invalidAt0: the honest peers' invalid-input counts by reason when it started.
	invalidAt0 map[string]uint64
	invalidAt1 map[string]uint64 // when the next outsider started, or at the end
}

// startOutsider runs the attacker process.
func (d *driver) startOutsider(o Outsider) error {
	i := len(d.outs)
	dir, err := filepath.Abs(filepath.Join(d.o.Out, fmt.Sprintf("outsider-%d", i)))
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	prefix := p2p.DefaultProtocolPrefix
	run := wire.RunID(d.runID).String()
	var topics, streams []string
	for _, t := range outsiderTopics {
		topics = append(topics, prefix+"/"+t+"/"+run)
	}
	for _, s := range outsiderStreams {
		streams = append(streams, prefix+"/"+s)
	}
	args := []string{"outsider", "--kind", o.Kind, "--targets", strings.Join(d.addrs, ","),
		"--topics", strings.Join(topics, ","), "--streams", strings.Join(streams, ","), "--prefix", prefix,
		"--duration", o.Duration.String(), "--out", dir}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(d.outsiderBin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting outsider %s: %w", o, err)
	}
	now := time.Now()
	r := &outsiderRun{spec: o, dir: dir, cmd: cmd, exited: make(chan struct{}), start: now,
		killAt: now.Add(o.Duration + 10*time.Second), ids: map[string]bool{},
		blockedBy: map[int]bool{}, graylistedBy: map[int]bool{}, invalidAt0: d.honestInvalid()}
	if n := len(d.outs); n > 0 && d.outs[n-1].invalidAt1 == nil {
		d.outs[n-1].invalidAt1 = r.invalidAt0
	}
	go func() { _ = cmd.Wait(); close(r.exited) }()
	d.outs = append(d.outs, r)
	d.tr.event(d.procs, fmt.Sprintf("outsider attack %s started (pid %d, its own identities, not members)", o, cmd.Process.Pid), nil)
	return nil
}

// outsiders starts the attacks due, notes those that ended and kills any that overstays.
func (d *driver) outsiders(hi uint64) error {
	for _, r := range d.outs {
		if !r.end.IsZero() {
			continue
		}
		select {
		case <-r.exited:
			r.end = time.Now()
			r.readIDs()
			d.tr.event(d.procs, fmt.Sprintf("outsider attack %s ended", r.spec), nil)
		default:
			if time.Now().After(r.killAt) {
				_ = r.cmd.Process.Kill()
			}
		}
	}
	running := len(d.outs) > 0 && d.outs[len(d.outs)-1].end.IsZero()
	if !running && len(d.outs) < len(d.o.Outsiders) && hi >= d.o.Outsiders[len(d.outs)].Round {
		return d.startOutsider(d.o.Outsiders[len(d.outs)])
	}
	return nil
}

// watchOutsider notes, for the latest outsider, which honest peers block or graylist its identities.
func (d *driver) watchOutsider() {
	if len(d.outs) == 0 {
		return
	}
	r := d.outs[len(d.outs)-1]
	if r.end.IsZero() {
		r.readIDs()
	}
	for i, p := range d.procs {
		s := d.tr.last[i]
		if !p.honest || s == nil || !d.tr.answered[i] {
			continue
		}
		for _, id := range s.Blocked {
			if r.ids[id] {
				r.blockedBy[p.index] = true
			}
		}
		for _, id := range s.Penalised {
			if r.ids[id] {
				r.graylistedBy[p.index] = true
			}
		}
	}
}

// stopOutsiders kills the attackers still running (the run is over) and waits for them.
func (d *driver) stopOutsiders() {
	for _, r := range d.outs {
		if r.end.IsZero() {
			_ = r.cmd.Process.Kill()
			<-r.exited
			r.end = time.Now()
			r.readIDs()
		}
	}
	if n := len(d.outs); n > 0 && d.outs[n-1].invalidAt1 == nil {
		d.outs[n-1].invalidAt1 = d.honestInvalid()
	}
}

// readIDs loads the peer IDs the attacker wrote so far.
func (r *outsiderRun) readIDs() {
	f, err := os.Open(filepath.Join(r.dir, "ids"))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			r.ids[id] = true
		}
	}
}

// stats reads the attacker's stats.json (nil when it wrote none: killed).
func (r *outsiderRun) stats() *outsider.Stats {
	b, err := os.ReadFile(filepath.Join(r.dir, "stats.json"))
	if err != nil {
		return nil
	}
	var s outsider.Stats
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	return &s
}

// honestInvalid sums the honest peers' invalid-input counts by reason (their last statuses).
func (d *driver) honestInvalid() map[string]uint64 {
	out := map[string]uint64{}
	for i, p := range d.procs {
		if s := d.tr.last[i]; p.honest && s != nil {
			for k, v := range s.InvalidInputs {
				out[k] += v
			}
		}
	}
	return out
}

// outsiderBinary is the binary that runs `testnet outsider`: the given path, this executable when it
// is the testnet binary, or one built with `go build` into dir.
func outsiderBinary(ctx context.Context, given, dir string) (string, error) {
	if given != "" {
		return filepath.Abs(given)
	}
	if exe, err := os.Executable(); err == nil && filepath.Base(exe) == "testnet" {
		return exe, nil
	}
	out, err := filepath.Abs(filepath.Join(dir, "testnet-outsider"))
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/byzpp/byzpp/cmd/testnet")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the testnet binary for --outsider: %w\n%s", err, b)
	}
	return out, nil
}

// OutsiderReport is one --outsider attack's outcome (report.json's outsiders).
type OutsiderReport struct {
	Attack string `json:"attack"` // KIND@ROUND+DURATION
	Kind   string `json:"kind"`
	// StartSeconds and EndSeconds: when the attacker ran, in seconds since the peers started.
	StartSeconds float64 `json:"start_seconds"`
	EndSeconds   float64 `json:"end_seconds"`
	// Identities is how many peer IDs it used.
	Identities int `json:"identities"`
	// Rates (rounds decided by every honest peer, a second) over the window of the attack's length
	// before it, over the attack, and over the window of the same length after it (shorter when the
	// run ended sooner: AfterSeconds).
	Rates
	// PeakRSSBefore is the largest resident set of any honest peer sampled before the attack,
	// PeakRSSDuring the largest during it and the window after; RSSRatio = during / before.
	PeakRSSBefore int64 `json:"peak_rss_before_bytes"`
	PeakRSSDuring int64 `json:"peak_rss_during_bytes"`
	RSSRatio      Num   `json:"rss_ratio"`
	// HonestPeers, BlockedBy, GraylistedBy: how many honest peers there are, and how many blocked
	// (connection gater) or graylisted (gossip score) one of its identities at some poll.
	HonestPeers  int `json:"honest_peers"`
	BlockedBy    int `json:"blocked_by"`
	GraylistedBy int `json:"graylisted_by"`
	// InvalidInputs: the invalid input the honest peers' transports counted from its start to the
	// next outsider's start or the end of the run, by reason (all senders: members' too).
	InvalidInputs map[string]uint64 `json:"invalid_inputs"`
	// Attacker: what the attacker says it did (its stats.json).
	Attacker *outsider.Stats `json:"attacker,omitempty"`
}

// Rates are a before/during/after comparison of the honest rate.
type Rates struct {
	Before       Num     `json:"rate_before"`
	During       Num     `json:"rate_during"`
	After        Num     `json:"rate_after"`
	Ratio        Num     `json:"rate_during_over_before"`
	AfterSeconds float64 `json:"after_seconds"`
}

func (d *driver) outsiderReports() []OutsiderReport {
	var out []OutsiderReport
	honest := 0
	for _, p := range d.procs {
		if p.honest {
			honest++
		}
	}
	for _, r := range d.outs {
		t0, t1 := r.start.Sub(d.tr.start).Seconds(), r.end.Sub(d.tr.start).Seconds()
		rep := OutsiderReport{Attack: r.spec.String(), Kind: r.spec.Kind, StartSeconds: t0, EndSeconds: t1,
			Identities: len(r.ids), Rates: WindowRates(d.samples, t0, t1), HonestPeers: honest,
			BlockedBy: len(r.blockedBy), GraylistedBy: len(r.graylistedBy), InvalidInputs: map[string]uint64{},
			Attacker: r.stats()}
		rep.PeakRSSBefore, rep.PeakRSSDuring = PeakRSS(d.samples, t0, t1+(t1-t0))
		rep.RSSRatio = ratio(float64(rep.PeakRSSDuring), float64(rep.PeakRSSBefore))
		for k, v := range r.invalidAt1 {
			if dv := v - min(v, r.invalidAt0[k]); dv > 0 {
				rep.InvalidInputs[k] = dv
			}
		}
		out = append(out, rep)
	}
	return out
}
