package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestNonTerminalPrintsTenthsOnly(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "sim", "rounds", 1000)
	for i := int64(1); i <= 1000; i++ {
		b.Set(i)
	}
	b.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 10 {
		t.Fatalf("got %d lines, want one per tenth (10):\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[9], "100%") || !strings.Contains(lines[9], "1000/1000") {
		t.Errorf("last line %q does not show completion", lines[9])
	}
}
