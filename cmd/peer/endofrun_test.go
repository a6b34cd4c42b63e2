package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/modelfile"
)

// TestRunEndsWithModel: three `peer run`s on loopback decide the genesis' rounds, each writes the
// final model into its state directory, serves it on /model while it lingers, and returns nil (exit 0)
// by itself; `peer export` then writes the same weights, byte for byte, from every stopped peer's
// state directory, and `peer verify-model` accepts them and refuses a tampered copy.
func TestRunEndsWithModel(t *testing.T) {
	const n, rounds = 3, 40
	tn := newTestnet(t, n, rounds)
	for i := range n {
		tn.start(i, "--bootstrap", tn.addr((i+1)%n), "--linger", "10s")
	}
	tn.waitFor(60*time.Second, "every peer at the last round", func(_ int, s map[string]any) bool {
		return num(s, "round") == rounds
	})
	// While it lingers, a peer serves the final model.
	served := map[string][]byte{}
	for _, part := range []string{"/model", "/model.npy"} {
		resp, err := http.Get("http://" + tn.https[0] + part)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Byzpp-Round") != strconv.Itoa(rounds) {
			t.Fatalf("GET %s: %s, round %q: %s", part, resp.Status, resp.Header.Get("X-Byzpp-Round"), b)
		}
		served[part] = b
	}
	s := tn.status(0)
	if acc, ok := s["test_accuracy"].(float64); !ok || acc <= 0.5 || acc > 1 {
		t.Errorf("/status test_accuracy %v", s["test_accuracy"])
	}
	for i := range n {
		select {
		case err := <-tn.done[i]:
			if err != nil {
				t.Fatalf("member %d: %v", i, err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("member %d did not stop by itself after the run's end", i)
		}
		tn.cancel[i] = nil
		if !strings.Contains(tn.logs[i].String(), "final model written") {
			t.Errorf("member %d did not log the final model", i)
		}
	}
	g, err := genesis.Load(tn.gen)
	if err != nil {
		t.Fatal(err)
	}
	var weights [][]byte
	for i := range n {
		state := filepath.Join(tn.dir, "state-"+strconv.Itoa(i))
		written, err := os.ReadFile(filepath.Join(state, "model.npy"))
		if err != nil {
			t.Fatalf("member %d wrote no model at the end: %v", i, err)
		}
		out := filepath.Join(tn.dir, "export-"+strconv.Itoa(i))
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{"export", "--state", state, "--genesis", tn.gen, "--out", out}, &stdout, &stderr); err != nil {
			t.Fatalf("export %d: %v (%s)", i, err, stderr.String())
		}
		exported, err := os.ReadFile(out + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(exported, written) {
			t.Errorf("member %d: export differs from the model written at the end", i)
		}
		m, err := modelfile.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := modelfile.Verify(g, m); err != nil || m.Meta.Round != rounds {
			t.Errorf("member %d: round %d, verify %v", i, m.Meta.Round, err)
		}
		weights = append(weights, exported)
	}
	for i := 1; i < n; i++ {
		if !bytes.Equal(weights[i], weights[0]) {
			t.Errorf("member %d exported other weights than member 0", i)
		}
	}
	if !bytes.Equal(served["/model.npy"], weights[0]) {
		t.Error("/model.npy is not the exported model")
	}
	served0, err := modelfile.Decode(served["/model.npy"], served["/model"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modelfile.Verify(g, served0); err != nil {
		t.Errorf("served model: %v", err)
	}

	// verify-model: the export passes, scored; a copy with one weight changed does not.
	out := filepath.Join(tn.dir, "export-0")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"verify-model", "--genesis", tn.gen, "--model", out + ".json"}, &stdout, &stderr); err != nil {
		t.Fatalf("verify-model: %v", err)
	}
	if !strings.Contains(stdout.String(), "ok: run") || !strings.Contains(stdout.String(), "test accuracy") {
		t.Errorf("verify-model said %q", stdout.String())
	}
	m, _ := modelfile.Read(out)
	m.X[0] += 1e-9
	if _, _, err := m.Write(filepath.Join(tn.dir, "tampered")); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"verify-model", "--genesis", tn.gen, "--model", filepath.Join(tn.dir, "tampered")}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not the certified state") {
		t.Errorf("tampered model: %v", err)
	}
}

// TestLateMemberFinishesWhileOthersLinger: a member that starts only after the others decided the
// last round (3 of 4 are a quorum) catches up from the final certified state they keep serving during
// their grace period, writes the same final weights, and exits by itself — what --linger is for.
func TestLateMemberFinishesWhileOthersLinger(t *testing.T) {
	const n, rounds = 4, 30
	tn := newTestnet(t, n, rounds)
	for i := range n - 1 {
		tn.start(i, "--bootstrap", tn.addr((i+1)%(n-1)), "--linger", "30s")
	}
	deadline := time.Now().Add(60 * time.Second)
	for i := range n - 1 {
		for s := tn.status(i); s == nil || num(s, "round") != rounds; s = tn.status(i) {
			if time.Now().After(deadline) {
				t.Fatalf("member %d did not reach the end: %v", i, s)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	tn.start(n-1, "--bootstrap", tn.addr(0), "--linger", "1s")
	select {
	case err := <-tn.done[n-1]:
		if err != nil {
			t.Fatalf("late member: %v\n%s", err, tail(tn.logs[n-1].String(), 3000))
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("the late member did not finish while the others lingered:\n%s", tail(tn.logs[n-1].String(), 3000))
	}
	tn.cancel[n-1] = nil
	late, err := os.ReadFile(filepath.Join(tn.dir, "state-"+strconv.Itoa(n-1), "model.npy"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(filepath.Join(tn.dir, "state-0", "model.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(late, first) {
		t.Error("the late member's final model differs from member 0's")
	}
}
