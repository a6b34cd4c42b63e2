package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/byzpp/byzpp/testnet/up"
)

// startDetached starts this same command again in the background, in its own session (so closing
// the terminal does not stop it), with its output in dir/testnet.log, and returns once the run has
// written its state file (or died trying).
func startDetached(ctx context.Context, args []string, dir string, stdout io.Writer) error {
	if pid, alive := runningPID(dir); alive {
		return fmt.Errorf("up: a testnet (pid %d) is already running in %s; `testnet down --out %s` first", pid, dir, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logPath := filepath.Join(dir, "testnet.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	_ = os.Remove(filepath.Join(dir, up.StateFile))
	cmd := exec.Command(exe, append([]string{"up"}, args...)...)
	cmd.Env = append(os.Environ(), detachedEnv+"=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("up -d: %w", err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Building the peer binary and computing f* can take a while before the first state file.
	wait := time.After(3 * time.Minute)
	for {
		if _, err := up.ReadState(dir); err == nil {
			fmt.Fprintf(stdout, "testnet running in the background (pid %d); log in %s\n  testnet status --out %s\n  testnet down --out %s\n",
				pid, logPath, dir, dir)
			return nil
		}
		select {
		case err := <-exited:
			tail, _ := os.ReadFile(logPath)
			return fmt.Errorf("up -d: the background run exited (%v):\n%s", err, tail)
		case <-wait:
			return fmt.Errorf("up -d: no state file after 3 minutes; see %s (pid %d)", logPath, pid)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// runningPID reads dir's pid file and reports whether that process is alive.
func runningPID(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, up.PIDFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, syscall.Kill(pid, 0) == nil
}

// runStatus is `testnet status`: the progress of the run in --out (and of each preset series).
func runStatus(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("testnet status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", defaultUpOut, "the testnet's output directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dirs := []string{*out}
	subs, _ := filepath.Glob(filepath.Join(*out, "*", up.StateFile))
	for _, s := range subs {
		dirs = append(dirs, filepath.Dir(s))
	}
	pid, alive := runningPID(*out)
	switch {
	case alive:
		fmt.Fprintf(stdout, "running (pid %d)\n", pid)
	case pid > 0:
		fmt.Fprintf(stdout, "not running (pid %d is gone)\n", pid)
	default:
		fmt.Fprintln(stdout, "not running")
	}
	found := false
	for _, d := range dirs {
		st, err := up.ReadState(d)
		if errors.Is(err, up.ErrNoState) {
			continue
		}
		if err != nil {
			return err
		}
		found = true
		s := st.Snapshot
		if s == nil {
			fmt.Fprintf(stdout, "%s: starting\n", d)
			continue
		}
		fmt.Fprintf(stdout, "%s: %s, updated %s ago\n  %s\n  rejected per member: %s\n", d, s.Phase,
			time.Since(st.Updated).Round(time.Second), headline(filepath.Base(d), s), rejectedLine(s))
		if line := statesLine(s); line != "" {
			fmt.Fprintf(stdout, "  %s\n", line)
		}
		if st.Error != "" {
			fmt.Fprintf(stdout, "  error: %s\n", st.Error)
		}
	}
	if !found {
		return fmt.Errorf("status: %w: %s", up.ErrNoState, *out)
	}
	return nil
}

// runDown is `testnet down`: SIGTERM to the harness, which stops its peers and writes its report;
// SIGKILL if it has not exited after --wait (its peers then get SIGTERM from the kernel).
func runDown(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("testnet down", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", defaultUpOut, "the testnet's output directory")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for a clean stop before SIGKILL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pid, alive := runningPID(*out)
	if !alive {
		return fmt.Errorf("down: no testnet running in %s", *out)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("down: %w", err)
	}
	deadline := time.Now().Add(*wait)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			fmt.Fprintf(stdout, "testnet (pid %d) did not stop within %v: killed\n", pid, *wait)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Fprintf(stdout, "testnet (pid %d) stopped; report in %s\n", pid, *out)
	return nil
}
