package p2ptest

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
)

// TestLogger returns a logger that writes warnings and errors to t.Log, so a failing test shows what
// the hosts complained about without drowning passing runs in gossip chatter.
// Records arriving after the test's cleanups ran are dropped (t.Log would panic then).
func TestLogger(t testing.TB) *slog.Logger {
	h := &testHandler{t: t, level: slog.LevelWarn, state: &logState{}}
	t.Cleanup(func() {
		h.state.mu.Lock()
		h.state.done = true
		h.state.mu.Unlock()
	})
	return slog.New(h)
}

type logState struct {
	mu   sync.Mutex
	done bool
}

type testHandler struct {
	t     testing.TB
	level slog.Level
	state *logState
	attrs []slog.Attr
	group string
}

func (h *testHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *testHandler) Handle(_ context.Context, r slog.Record) error {
	var buf bytes.Buffer
	th := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: h.level})
	var hh slog.Handler = th
	if len(h.attrs) > 0 {
		hh = hh.WithAttrs(h.attrs)
	}
	if h.group != "" {
		hh = hh.WithGroup(h.group)
	}
	if err := hh.Handle(context.Background(), r); err != nil {
		return err
	}
	h.state.mu.Lock()
	defer h.state.mu.Unlock()
	if !h.state.done {
		h.t.Log(buf.String())
	}
	return nil
}

func (h *testHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *testHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.group = name
	return &c
}
