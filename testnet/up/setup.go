package up

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

// plan is a prepared testnet: genesis written, peers configured, nothing started.
type plan struct {
	genesis *genesis.Genesis
	procs   []*proc
	uniform bool     // every Byzantine peer does the same thing at learning level
	control bool     // the peers serve the partition endpoints (peer run --control)
	addrs   []string // the members' multiaddrs, by member index
	runID   [32]byte
	// outsiderBin runs `testnet outsider` (when Options.Outsiders is set).
	outsiderBin string
}

// prepare writes the keys (reused if present, so peer IDs stay stable across runs in one directory)
// and the genesis, clears state left by an earlier run, and configures one proc per member.
func prepare(ctx context.Context, o *Options) (*plan, error) {
	bin, err := peerBinary(ctx, o.PeerBin, o.Out)
	if err != nil {
		return nil, err
	}
	if o.Latency > 0 {
		if err := requireFlag(ctx, bin, "publish-delay"); err != nil {
			return nil, err
		}
	}
	if o.PeerLogLevel != "" {
		if err := requireFlag(ctx, bin, "log-level"); err != nil {
			return nil, err
		}
	}
	// Partitions block peers through `peer run --control`; an older binary gets frozen instead.
	control := len(o.Partitions) > 0 && requireFlag(ctx, bin, "control") == nil
	n := o.Spec.Members
	ids := make([]string, n)
	for i := range n {
		id, err := identity(o.Out, i)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	spec := o.Spec
	assigned := Assign(o.Attacks, spec.Byzantine)
	if assigned == nil {
		assigned = Assign([]string{spec.Attack}, spec.Byzantine)
	}
	var uniform bool
	spec.Attack, uniform = GenesisAttack(assigned)
	g, err := genesis.New("testnet", ids, spec)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	volunteers := 0
	for _, j := range o.Joins {
		volunteers += j.Count
	}
	if volunteers > 0 || len(o.Leaves) > 0 || o.SilentRounds > 0 {
		g.Open, g.MaxMembers = true, n+volunteers
		g.SilentRounds = o.SilentRounds
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrOptions, err)
		}
		control = control || len(o.Leaves) > 0
		if len(o.Leaves) > 0 {
			if err := requireFlag(ctx, bin, "control"); err != nil {
				return nil, err
			}
		}
	}
	if o.Timeouts != nil {
		g.Timeouts = *o.Timeouts
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("%w: timeouts: %w", ErrOptions, err)
		}
	}
	if o.NoFStar {
		o.Logger.Info("no f* in the genesis (--no-fstar): the curve has no gap")
	} else if st, err := sim.Build(g.Spec, nil); err == nil {
		if st.Model.Name() != "logreg" {
			o.Logger.Warn("computing f* by L-BFGS before the peers start (cached afterwards; --no-fstar skips it)",
				"model", st.Model.Name(), "parameters", st.Model.Dim())
		}
		if f, err := st.FStar(); err == nil {
			g.FStar = &f
		}
	}
	gpath, err := filepath.Abs(filepath.Join(o.Out, "genesis.json"))
	if err != nil {
		return nil, err
	}
	if err := g.Save(gpath); err != nil {
		return nil, err
	}
	ports, err := freePorts(2 * (n + volunteers))
	if err != nil {
		return nil, err
	}
	// Peer directories are named by genesis member index (members are sorted by ID).
	addrs := make([]string, n)
	for i, id := range g.Members {
		addrs[i] = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", ports[2*i], id)
	}
	isByz := map[int]bool{}
	for _, b := range g.Byzantine {
		isByz[b] = true
	}
	byzSeen := 0
	pl := &plan{genesis: g, uniform: uniform, control: control, addrs: addrs}
	if len(o.Outsiders) > 0 {
		if pl.outsiderBin, err = outsiderBinary(ctx, o.OutsiderBin, o.Out); err != nil {
			return nil, err
		}
	}
	env := peerEnv(n)
	for i, id := range g.Members {
		dir := filepath.Join(o.Out, "member-"+strconv.Itoa(i))
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		p := &proc{index: i, id: id, honest: !isByz[i], dir: dir, bin: bin, env: env,
			http: "127.0.0.1:" + strconv.Itoa(ports[2*i+1])}
		p.args = []string{"run", "--genesis", gpath, "--key", keyPath(o.Out, slicesIndex(ids, id)),
			"--state", filepath.Join(dir, "state"), "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ports[2*i]),
			"--http", p.http, "--log-format", "json"}
		for j := range n {
			if j != i {
				p.args = append(p.args, "--bootstrap", addrs[j])
			}
		}
		if !p.honest {
			p.attack = assigned[byzSeen]
			byzSeen++
			p.args = append(p.args, "--attack", PeerArg(p.attack))
		}
		if o.Latency > 0 {
			p.args = append(p.args, "--publish-delay", o.Latency.String())
		}
		if control {
			p.args = append(p.args, "--control")
		}
		if o.Profile {
			p.args = append(p.args, "--cpuprofile", filepath.Join(dir, "cpu.pprof"))
		}
		p.args = append(p.args, logLevelArgs(o)...)
		pl.procs = append(pl.procs, p)
	}
	// Volunteers: keys after the members', started by --join with a bootstrap address and the run id
	// only (they fetch the genesis from a member, as `peer --bootstrap ADDR --run ID` does).
	runID, err := g.RunID()
	if err != nil {
		return nil, err
	}
	pl.runID = runID
	for v := range volunteers {
		i := n + v
		id, err := identity(o.Out, i)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(o.Out, "volunteer-"+strconv.Itoa(v))
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		p := &proc{index: i, id: id, honest: true, volunteer: true, dir: dir, bin: bin, env: env,
			http: "127.0.0.1:" + strconv.Itoa(ports[2*i+1])}
		p.args = []string{"run", "--run", fmt.Sprintf("%x", runID[:]), "--key", keyPath(o.Out, i),
			"--state", filepath.Join(dir, "state"), "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ports[2*i]),
			"--http", p.http, "--log-format", "json"}
		// Every genesis member's address, as the members get: with one, a volunteer whose bootstrap
		// peer leaves before it met the others is stranded (cmd/peer's TestVolunteerJoinsOnLoopback
		// covers the one-address case).
		for _, a := range addrs {
			p.args = append(p.args, "--bootstrap", a)
		}
		if o.Latency > 0 {
			p.args = append(p.args, "--publish-delay", o.Latency.String())
		}
		if control {
			p.args = append(p.args, "--control")
		}
		p.args = append(p.args, logLevelArgs(o)...)
		pl.procs = append(pl.procs, p)
	}
	return pl, nil
}

// logLevelArgs passes Options.PeerLogLevel on to a peer.
func logLevelArgs(o *Options) []string {
	if o.PeerLogLevel == "" {
		return nil
	}
	return []string{"--log-level", o.PeerLogLevel}
}

// peerEnv is the environment of every peer: the harness's, with GOMAXPROCS = max(1, cores/n) so n
// peers on one machine do not each run a scheduler thread per core (measured: 5–20% less CPU for the
// same rounds). A GOMAXPROCS the user set is kept.
func peerEnv(n int) []string {
	env := os.Environ()
	if os.Getenv("GOMAXPROCS") == "" {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(gomaxprocs(runtime.NumCPU(), n)))
	}
	return env
}

// gomaxprocs shares cores among n peers: max(1, cores/n).
func gomaxprocs(cores, n int) int { return max(1, cores/max(1, n)) }

// identity returns the peer ID of the i-th key, creating the key on first use.
func identity(out string, i int) (string, error) {
	key, err := p2p.LoadOrCreateKey(keyPath(out, i))
	if err != nil {
		return "", err
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// keyPath is where the i-th key lives; keys are numbered in creation order, members by sorted ID.
func keyPath(out string, i int) string {
	p, _ := filepath.Abs(filepath.Join(out, "keys", strconv.Itoa(i)+".key"))
	return p
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// requireFlag fails unless `peer run -h` lists the flag: the harness passes fault options through to
// the peers and must not start a run whose faults would silently not happen.
func requireFlag(ctx context.Context, bin, flag string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "run", "-h").CombinedOutput()
	if !bytes.Contains(out, []byte("-"+flag)) {
		return fmt.Errorf("%w: this peer binary (%s) has no --%s flag", ErrOptions, bin, flag)
	}
	return nil
}

// freePorts asks the OS for k free TCP ports on 127.0.0.1 (held together, so they are distinct).
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
		return filepath.Abs(given)
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
