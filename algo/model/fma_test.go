package model

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestNoFusedMultiplyAdd compiles this package and algo/data for arm64 and for amd64 with FMA
// (GOAMD64=v3) and fails if the compiler fused any multiply-add: a fused one rounds once instead of
// twice, so peers on different CPUs would compute different bits. The cure is float64(a*b) + c at the
// line reported. The compiler output is cached, so this is quick after the first run.
func TestNoFusedMultiplyAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the package for other targets")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	targets := []struct {
		name  string
		env   []string
		fused *regexp.Regexp
	}{
		{"arm64", []string{"GOARCH=arm64"}, regexp.MustCompile(`\bF(N)?M(ADD|SUB)D\b`)},
		{"amd64-v3", []string{"GOARCH=amd64", "GOAMD64=v3"}, regexp.MustCompile(`\bVF(N)?M(ADD|SUB)\d*SD\b`)},
	}
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(goTool, "build", "-gcflags=-S", "-o", os.DevNull, ".", "../data")
			cmd.Env = append(os.Environ(), tc.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "TEXT") {
				t.Fatal("no assembly listing in the compiler output")
			}
			for _, line := range strings.Split(string(out), "\n") {
				if tc.fused.MatchString(line) {
					t.Errorf("fused multiply-add: %s", strings.TrimSpace(line))
				}
			}
		})
	}
}
