package up

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/testnet/curves"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ErrOptions is wrapped by every Options.Validate error.
var ErrOptions = errors.New("testnet up: invalid options")

// Options of one testnet.
type Options struct {
	Spec    sim.Spec      // training spec; Members, Byzantine, Attack and Rounds are taken from it
	Out     string        // output directory
	PeerBin string        // path of the peer binary ("" : next to this executable, else go build)
	Timeout time.Duration // give up after this long (0: 10 minutes)
	Logger  *slog.Logger
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.Out == "":
		return fmt.Errorf("%w: no output directory", ErrOptions)
	case o.Spec.Members < 1:
		return fmt.Errorf("%w: n = %d", ErrOptions, o.Spec.Members)
	}
	if err := o.Spec.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	return nil
}

// PeerReport is one peer's outcome.
type PeerReport struct {
	ID          string `json:"id"`
	Honest      bool   `json:"honest"`
	FinalRound  uint64 `json:"final_round"`
	FinalDigest string `json:"final_digest"`
}

// Report is report.json.
type Report struct {
	HonestAgree     bool         `json:"honest_agree"`
	RoundsDecided   uint64       `json:"rounds_decided"`
	RoundsPerSecond float64      `json:"rounds_per_second"`
	WallSeconds     float64      `json:"wall_seconds"`
	Peers           []PeerReport `json:"peers"`
}

type status struct {
	Round  uint64 `json:"round"`
	Digest string `json:"digest"`
	Curve  []struct {
		Round int      `json:"round"`
		Epoch *float64 `json:"epoch"`
		Loss  *float64 `json:"loss"`
		Gap   *float64 `json:"gap"`
	} `json:"curve"`
}

type proc struct {
	id     string
	honest bool
	http   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited is closed
}

// Run starts the testnet, waits for it to finish and writes the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Minute
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	bin, err := peerBinary(ctx, o.PeerBin, o.Out)
	if err != nil {
		return nil, err
	}
	n := o.Spec.Members
	ids := make([]string, n)
	for i := range n {
		key, err := p2p.LoadOrCreateKey(filepath.Join(o.Out, fmt.Sprintf("peer-%d", i), "key"))
		if err != nil {
			return nil, err
		}
		id, err := peer.IDFromPrivateKey(key)
		if err != nil {
			return nil, err
		}
		ids[i] = id.String()
	}
	// Protocol-level attacks are not learning-level ones: the genesis (and sim) see what they do to
	// round messages — a mute member sends none ("silent"), a wrong-digest leader sends honest ones.
	spec, peerAttack := o.Spec, o.Spec.Attack
	switch peerAttack {
	case node.AttackMute:
		spec.Attack = "silent"
	case node.AttackWrongDigest:
		spec.Attack = "none"
	}
	g, err := genesis.New("testnet", ids, spec)
	if err != nil {
		return nil, err
	}
	if st, err := sim.Build(g.Spec, nil); err == nil {
		if f, err := st.FStar(); err == nil {
			g.FStar = &f
		}
	}
	gpath := filepath.Join(o.Out, "genesis.json")
	if err := g.Save(gpath); err != nil {
		return nil, err
	}
	byz := map[string]bool{}
	for _, b := range g.Byzantine {
		byz[g.Members[b]] = true
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, n)
	for i := range n {
		addrs[i] = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", ports[2*i], ids[i])
	}
	start := time.Now()
	var procs []*proc
	defer func() { stopAll(procs, lg) }()
	for i := range n {
		dir := filepath.Join(o.Out, fmt.Sprintf("peer-%d", i))
		p := &proc{id: ids[i], honest: !byz[ids[i]], http: "127.0.0.1:" + strconv.Itoa(ports[2*i+1]), exited: make(chan struct{})}
		args := []string{"run", "--genesis", gpath, "--key", filepath.Join(dir, "key"), "--state", filepath.Join(dir, "state"),
			"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ports[2*i]), "--http", p.http, "--log-format", "json"}
		for j := range n {
			if j != i {
				args = append(args, "--bootstrap", addrs[j])
			}
		}
		if !p.honest {
			args = append(args, "--attack", peerAttack)
		}
		logf, err := os.Create(filepath.Join(dir, "log"))
		if err != nil {
			return nil, err
		}
		defer logf.Close()
		p.cmd = exec.Command(bin, args...)
		p.cmd.Stdout, p.cmd.Stderr = logf, logf
		if err := p.cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting peer %d: %w", i, err)
		}
		go func() { p.err = p.cmd.Wait(); close(p.exited) }()
		procs = append(procs, p)
		lg.Info("started peer", "member", g.MemberIndex(ids[i]), "honest", p.honest, "pid", p.cmd.Process.Pid)
	}
	target := uint64(o.Spec.Rounds)
	deadline := time.After(o.Timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	statuses := make([]status, n)
	for {
		done := true
		for i, p := range procs {
			select {
			case <-p.exited:
				return nil, fmt.Errorf("peer %d exited early (%v); see %s", i, p.err, filepath.Join(o.Out, fmt.Sprintf("peer-%d", i), "log"))
			default:
			}
			s, err := getStatus(ctx, client, p.http, p.honest && i == firstHonest(procs))
			if err == nil {
				statuses[i] = s
			}
			if p.honest && statuses[i].Round < target {
				done = false
			}
		}
		if done {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline:
			return nil, fmt.Errorf("testnet up: timed out after %v", o.Timeout)
		case <-time.After(300 * time.Millisecond):
		}
	}
	wall := time.Since(start).Seconds()
	rep := &Report{HonestAgree: true, WallSeconds: wall, RoundsDecided: math.MaxUint64}
	var digest string
	for i, p := range procs {
		s := statuses[i]
		rep.Peers = append(rep.Peers, PeerReport{ID: p.id, Honest: p.honest, FinalRound: s.Round, FinalDigest: s.Digest})
		if !p.honest {
			continue
		}
		rep.RoundsDecided = min(rep.RoundsDecided, s.Round)
		if digest == "" {
			digest = s.Digest
		} else if s.Digest != digest {
			rep.HonestAgree = false
		}
	}
	rep.RoundsPerSecond = float64(rep.RoundsDecided) / wall
	if err := writeOutputs(o.Out, rep, statuses[firstHonest(procs)], o.Spec.Seed); err != nil {
		return rep, err
	}
	return rep, nil
}

func firstHonest(procs []*proc) int {
	for i, p := range procs {
		if p.honest {
			return i
		}
	}
	return 0
}

func getStatus(ctx context.Context, c *http.Client, addr string, curve bool) (status, error) {
	url := "http://" + addr + "/status"
	if curve {
		url += "?curve=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return status{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return status{}, err
	}
	defer resp.Body.Close()
	var s status
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s, err
}

// stopAll sends SIGTERM to every peer still running, then kills those that have not exited after 10 s.
func stopAll(procs []*proc, lg *slog.Logger) {
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	timeout := time.After(10 * time.Second)
	for i, p := range procs {
		select {
		case <-p.exited:
		case <-timeout:
			lg.Warn("peer did not stop; killing it", "peer", i)
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
}

func writeOutputs(dir string, rep *Report, s status, seed uint64) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	val := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	var rows []curves.Row
	for _, p := range s.Curve {
		rows = append(rows, curves.Row{Series: "up", Seed: seed, Epoch: val(p.Epoch), Round: p.Round, Loss: val(p.Loss), Gap: val(p.Gap)})
	}
	f, err := os.Create(filepath.Join(dir, "curves.csv"))
	if err != nil {
		return err
	}
	if err := curves.WriteCSV(f, rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// freePorts asks the OS for k free TCP ports on 127.0.0.1.
func freePorts(k int) ([]int, error) {
	var out []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range k {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// peerBinary returns the peer binary: the given path, `peer` next to this executable, or one built
// with `go build` into dir.
func peerBinary(ctx context.Context, given, dir string) (string, error) {
	if given != "" {
		return given, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "peer")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	out, err := filepath.Abs(filepath.Join(dir, "peer"))
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/byzpp/byzpp/cmd/peer")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the peer binary: %w\n%s", err, b)
	}
	return out, nil
}
