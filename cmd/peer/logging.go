package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// newLogger returns the peer's logger: text or JSON lines on w at level (debug, info, warn, error),
// through uniqueKeys so no line carries a key twice.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	switch level {
	case "debug", "info", "warn", "error":
		if err := lv.UnmarshalText([]byte(level)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("--log-level must be debug, info, warn or error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(uniqueKeys{h: slog.NewTextHandler(w, opts)}), nil
	case "json":
		return slog.New(uniqueKeys{h: slog.NewJSONHandler(w, opts)}), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", format)
}

// uniqueKeys keeps a key from appearing twice in one line. The node attaches "member" (this peer's
// index) to its logger and its consensus machine attaches it again, and some lines name another
// member under the same key: a duplicate with the same value is dropped, one with another value is
// written as other_KEY (so "double vote member=2 other_member=5": member 2 saw member 5 double-vote).
// Keys inside groups are left alone.
type uniqueKeys struct {
	h        slog.Handler
	attached []slog.Attr // top-level attributes already attached with WithAttrs
	grouped  bool        // a WithGroup happened: later attributes are nested, nothing to clash with
}

// Enabled implements slog.Handler.
func (u uniqueKeys) Enabled(ctx context.Context, l slog.Level) bool { return u.h.Enabled(ctx, l) }

// WithAttrs implements slog.Handler.
func (u uniqueKeys) WithAttrs(as []slog.Attr) slog.Handler {
	if u.grouped {
		return uniqueKeys{h: u.h.WithAttrs(as), grouped: true}
	}
	attached := append([]slog.Attr(nil), u.attached...)
	var keep []slog.Attr
	for _, a := range as {
		a, ok := unique(attached, a)
		if !ok {
			continue
		}
		attached = append(attached, a)
		keep = append(keep, a)
	}
	return uniqueKeys{h: u.h.WithAttrs(keep), attached: attached}
}

// WithGroup implements slog.Handler.
func (u uniqueKeys) WithGroup(name string) slog.Handler {
	return uniqueKeys{h: u.h.WithGroup(name), attached: u.attached, grouped: true}
}

// Handle implements slog.Handler.
func (u uniqueKeys) Handle(ctx context.Context, r slog.Record) error {
	if u.grouped || (len(u.attached) == 0 && r.NumAttrs() < 2) {
		return u.h.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	seen := append([]slog.Attr(nil), u.attached...)
	r.Attrs(func(a slog.Attr) bool {
		if a, ok := unique(seen, a); ok {
			seen = append(seen, a)
			out.AddAttrs(a)
		}
		return true
	})
	return u.h.Handle(ctx, out)
}

// unique returns a as it may be added after seen: unchanged when its key is new, renamed other_KEY
// when the key is there with another value, not at all (false) when it is an exact repeat.
func unique(seen []slog.Attr, a slog.Attr) (slog.Attr, bool) {
	for {
		clash := false
		for _, s := range seen {
			if s.Key != a.Key {
				continue
			}
			if s.Value.Equal(a.Value) {
				return a, false
			}
			clash = true
		}
		if !clash {
			return a, true
		}
		a.Key = "other_" + a.Key
	}
}
