package outsider

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Main runs `testnet outsider` (hidden: `testnet up --outsider` starts it) with args.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("testnet outsider", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", "", "attack: "+strings.Join(Kinds, ", "))
	targets := fs.String("targets", "", "comma-separated multiaddrs of the members, each with /p2p/ID")
	topics := fs.String("topics", "", "comma-separated gossip topics of the run (full names)")
	streams := fs.String("streams", "", "comma-separated stream protocols of the run (full IDs)")
	prefix := fs.String("prefix", "/byzpp", "protocol prefix")
	dur := fs.Duration("duration", 10*time.Second, "how long to attack (at most 10m)")
	out := fs.String("out", "", "directory for ids (the peer IDs used) and stats.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := Config{Kind: *kind, Targets: split(*targets), Topics: split(*topics), Streams: split(*streams),
		Prefix: *prefix, Duration: *dur, Out: *out, Log: stderr}
	st, err := Run(ctx, cfg)
	b, _ := json.Marshal(st)
	fmt.Fprintln(stdout, string(b))
	return err
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
