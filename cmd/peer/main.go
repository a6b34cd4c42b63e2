package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `peer — one member of a byzpp training run

Usage:
  peer --bootstrap ADDR [--run ID]       a volunteer: fetch the run's genesis from ADDR, follow the run,
                                         join it if it is open (key and state under ~/.byzpp)
  peer run --genesis FILE --key FILE --state DIR [--listen ADDR] [--bootstrap ADDR]...
           [--data PATH] [--http ADDR] [--log-format text|json] [--log-level debug|info|warn|error] [--attack LIST]
           [--pprof] [--cpuprofile FILE] [--dht [--dht-server]] [--mdns] [--nat]
           [--conn-low N] [--conn-high N] [--publish-delay DURATION] [--control]
           [--model PATH] [--linger DURATION | --serve-after-end]
                                         at the run's last round: write the final model (PATH.npy +
                                         PATH.json), serve it --linger (30s) to laggards, exit 0
  peer export --state DIR --out PATH [--genesis FILE]
                                         write the final model of a stopped peer (PATH.npy, PATH.json)
  peer verify-model --genesis FILE --model PATH
                                         check a model's certificate against the run's genesis
  peer keygen --key FILE                 create (or read) an identity and print its peer ID
  peer genesis --members ID,ID,... [--preset NAME | spec flags] --out genesis.json
  peer help [command]

Run 'peer COMMAND -h' for every flag.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "peer:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if len(args[0]) > 1 && args[0][0] == '-' && args[0] != "-h" && args[0] != "--help" {
		return runPeer(ctx, args, stdout, stderr) // `peer --bootstrap ADDR` is `peer run --bootstrap ADDR`
	}
	switch args[0] {
	case "run":
		return runPeer(ctx, args[1:], stdout, stderr)
	case "keygen":
		return runKeygen(args[1:], stdout, stderr)
	case "genesis":
		return runGenesis(args[1:], stdout, stderr)
	case "export":
		return runExport(args[1:], stdout, stderr)
	case "verify-model":
		return runVerifyModel(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "-h"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// listFlag collects a repeatable flag; each value may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return fmt.Sprint(*l) }

func (l *listFlag) Set(v string) error {
	for _, s := range splitComma(v) {
		*l = append(*l, s)
	}
	return nil
}

func splitComma(v string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(v); i++ {
		if i == len(v) || v[i] == ',' {
			if s := v[start:i]; s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	return out
}
