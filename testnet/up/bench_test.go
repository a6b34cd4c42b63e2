package up

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
)

// BenchmarkLoopback runs n real peer processes on 127.0.0.1 — the paper's setting: Shift-Back
// attackers (a quarter of the members), 20% participation — for 300 rounds per iteration and reports
// decided rounds per second and bytes per round (libp2p wire bytes, and protocol payload) summed over
// all peers:
//
//	go test -run '^$' -bench Loopback -benchtime 1x ./testnet/up
//
// The rate includes the peers' start-up (about a second), so long runs of `testnet up` show a little more.
func BenchmarkLoopback(b *testing.B) {
	for _, n := range []int{4, 10, 20} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			bin := buildPeer(b)
			spec := sim.Default()
			spec.Members, spec.Byzantine, spec.Rounds, spec.EvalEvery = n, n/4, 300, 25
			var rounds, wall, wire, payload float64
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				rep, err := Run(ctx, Options{Spec: spec, Out: b.TempDir(), PeerBin: bin, Timeout: 4 * time.Minute,
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				if !rep.HonestAgree {
					b.Fatal("honest peers disagree")
				}
				rounds += float64(rep.RoundsDecided)
				wall += rep.WallSeconds
				for _, p := range rep.Peers {
					wire += float64(p.WireBytesSent)
					payload += float64(p.BytesSent)
				}
			}
			b.ReportMetric(rounds/wall, "rounds/s")
			// libp2p's bandwidth counter updates once a second: a run shorter than that reads 0 wire
			// bytes, so the protocol payload is reported too.
			b.ReportMetric(wire/rounds, "wireB/round")
			b.ReportMetric(payload/rounds, "payloadB/round")
		})
	}
}
