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

	"github.com/byzpp/byzpp/testnet/outsider"
)

const usage = `testnet — run byzpp experiments

Usage:
  testnet sim [flags]     train in one process (the paper's method, deterministic from the seed)
  testnet up [flags]      train over a real network of peer processes on 127.0.0.1 (-d: in the background)
  testnet status          show the progress of a testnet (--out DIR)
  testnet down            stop a background testnet (--out DIR)
  testnet help [command]  show help

Examples:
  testnet sim --preset fig1-middle --out out/fig1-middle
  testnet sim --attack alie --agg tm --n 30 --byz 7 --rounds 5000 --out out/alie
Run 'testnet sim -h' for every flag.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "testnet:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "sim":
		return runSim(ctx, args[1:], stdout, stderr)
	case "up":
		return runUp(ctx, args[1:], stdout, stderr)
	case "outsider": // hidden: the attacker `testnet up --outsider` runs as its own process
		return outsider.Main(ctx, args[1:], stdout, stderr)
	case "status":
		return runStatus(ctx, args[1:], stdout, stderr)
	case "down":
		return runDown(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		if len(args) > 1 && args[1] == "sim" {
			return runSim(ctx, []string{"-h"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
