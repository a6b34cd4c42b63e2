package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/testnet/up"
)

// runUp is `testnet up`: N real peer processes on 127.0.0.1.
func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("testnet up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := sim.Default()
	fs.IntVar(&s.Members, "n", 4, "number of peers")
	fs.IntVar(&s.Byzantine, "byz", 0, "Byzantine peers (the last members)")
	fs.StringVar(&s.Attack, "attack", "shb", "attack the Byzantine peers run (algo/attack names, mute, wrong-digest)")
	fs.IntVar(&s.Rounds, "rounds", 20, "rounds to decide")
	fs.StringVar(&s.Aggregator, "agg", s.Aggregator, "robust aggregator")
	fs.Float64Var(&s.Participation, "participation", 0.5, "fraction sampled in partial rounds")
	fs.IntVar(&s.Schedule, "schedule", 10, "a full round every this many rounds")
	fs.IntVar(&s.EvalEvery, "eval-every", 5, "record the loss every this many rounds")
	fs.Uint64Var(&s.Seed, "seed", s.Seed, "shared seed")
	out := fs.String("out", "", "output directory (required)")
	bin := fs.String("peer", "", "peer binary (default: next to testnet, else go build)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("up: --out is required")
	}
	if s.Byzantine == 0 {
		s.Attack = "none"
	}
	rep, err := up.Run(ctx, up.Options{Spec: s, Out: *out, PeerBin: *bin, Timeout: *timeout,
		Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d peers decided %d rounds in %.1fs (%.2f rounds/s); honest agree: %v\nwrote %s/report.json and curves.csv\n",
		len(rep.Peers), rep.RoundsDecided, rep.WallSeconds, rep.RoundsPerSecond, rep.HonestAgree, *out)
	return nil
}
