package up

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// proc is one peer process, restartable on the same state directory. Only the harness's polling
// goroutine touches it, except the waiter goroutine, which sets err before closing exited.
type proc struct {
	index    int
	id       string
	honest   bool
	attack   string // "" for honest peers
	dir      string
	http     string
	bin      string
	args     []string
	env      []string // the process environment (peerEnv)
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the current process has exited
	err      error         // its exit status, once exited is closed
	expected bool          // the harness itself stopped it (fault or shutdown)
	frozen   bool          // SIGSTOPped by a partition
	cut      bool          // on the minority side of a partition made by blocking
	restarts int
	restart  time.Time // when a killed peer is due to come back (zero: not pending)
	crashed  bool      // killed for good by --crash
	// volunteer: not a genesis member; started by a --join. leaving: asked to leave (--leave); it
	// exits by itself once its leave is decided.
	volunteer bool
	leaving   bool
}

// counted reports whether the peer is an honest member whose progress the run waits for: started,
// not on its way out.
func (p *proc) counted() bool {
	return p.honest && !p.leaving && !p.crashed && (!p.volunteer || p.cmd != nil)
}

func (p *proc) logPath() string { return filepath.Join(p.dir, "log") }

// start runs the peer, appending its output to its log. It gets its own process group, so a
// Ctrl-C in the terminal reaches only the harness, which then stops the peers in order; and a
// parent-death signal, so no peer outlives a harness that is killed outright.
func (p *proc) start() error {
	logf, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy of the descriptor
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting peer %d: %w", p.index, err)
	}
	p.cmd, p.exited, p.err, p.expected, p.frozen, p.cut = cmd, make(chan struct{}), nil, false, false, false
	exited := p.exited
	go func() { p.err = cmd.Wait(); close(exited) }()
	return nil
}

func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) signal(sig syscall.Signal) {
	if p.running() {
		_ = p.cmd.Process.Signal(sig)
	}
}

// kill9 kills the peer at once (SIGKILL) and waits for it to be gone.
func (p *proc) kill9() {
	if !p.running() {
		return
	}
	p.expected = true
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// stopAll thaws frozen peers, sends SIGTERM to every running one, and kills those still running
// after grace. It returns once every process has exited, so no peer is left behind.
func stopAll(procs []*proc, grace time.Duration, log func(msg string, args ...any)) {
	for _, p := range procs {
		if p.running() {
			p.expected = true
			p.signal(syscall.SIGCONT)
			p.signal(syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(grace)
	for _, p := range procs {
		if p.cmd == nil {
			continue
		}
		select {
		case <-p.exited:
		case <-time.After(time.Until(deadline)):
			log("peer did not stop after SIGTERM; killing it", "peer", p.index, "grace", grace)
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
}

// logTail returns the last lines of a peer's log, for error messages.
func (p *proc) logTail(lines int) string {
	b, err := os.ReadFile(p.logPath())
	if err != nil {
		return ""
	}
	b = bytes.TrimRight(b, "\n")
	parts := bytes.Split(b, []byte("\n"))
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return string(bytes.Join(parts, []byte("\n")))
}
