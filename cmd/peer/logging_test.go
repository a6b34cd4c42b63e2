package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestLoggerKeysAppearOnce: the node's logger carries "member", its consensus machine attaches it
// again and some lines name another member under that key; each line must still hold each key once.
func TestLoggerKeysAppearOnce(t *testing.T) {
	var buf bytes.Buffer
	lg, err := newLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	node := lg.With("member", 2, "run", "abc")
	node.With("component", "consensus").With("member", 2).Info("equivocation", "height", 7)
	node.Warn("double vote", "member", 5, "height", 9)
	node.Info("progress", "round", 3, "round", 3)
	node.WithGroup("g").Info("grouped", "member", 1)
	node.Debug("decided", "height", 1) // below info: not written
	tests := []struct{ msg, want string }{
		{"equivocation", `"member":2,"run":"abc","component":"consensus","height":7`},
		{"double vote", `"member":2,"run":"abc","other_member":5,"height":9`},
		{"progress", `"member":2,"run":"abc","round":3}`},
		{"grouped", `"member":2,"run":"abc","g":{"member":1}`},
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(tests) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tests), buf.String())
	}
	for i, tc := range tests {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil || m["msg"] != tc.msg {
			t.Fatalf("line %d %q: %v", i, lines[i], err)
		}
		if !strings.Contains(lines[i], tc.want) || strings.Count(lines[i], `"member"`) != 1+strings.Count(tc.want, `"g":{"member"`) {
			t.Errorf("line %q, want it to contain %s, member once", lines[i], tc.want)
		}
	}
}

func TestLoggerRefusesBadLevelAndFormat(t *testing.T) {
	for _, tc := range []struct{ format, level string }{{"text", "verbose"}, {"xml", "info"}, {"json", ""}} {
		if _, err := newLogger(&bytes.Buffer{}, tc.format, tc.level); err == nil {
			t.Errorf("format %q level %q accepted", tc.format, tc.level)
		}
	}
}
