package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/testnet/experiment"
	"github.com/libp2p/go-libp2p/core/peer"
)

func runKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("peer keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyPath := fs.String("key", "", "key file to create (mode 0600) or read")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keyPath == "" {
		return errors.New("keygen: --key is required")
	}
	key, err := p2p.LoadOrCreateKey(*keyPath)
	if err != nil {
		return err
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, id)
	return nil
}

func runGenesis(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("peer genesis", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var members listFlag
	fs.Var(&members, "members", "member peer IDs, comma-separated (required)")
	out := fs.String("out", "", "genesis file to write (required)")
	name := fs.String("name", "byzpp", "name of the run")
	preset := fs.String("preset", "", "start from the first series of a testnet preset (e.g. fig1-middle)")
	s := sim.Default()
	fs.StringVar(&s.Data, "data", s.Data, "data set: built-in name or LIBSVM path (read now: a malformed file is refused)")
	fs.StringVar(&s.TestData, "test-data", s.TestData, "held-out set reports score the model on: built-in name, LIBSVM path or none\n"+
		"(default: a9a.t for a9a)")
	fs.IntVar(&s.Byzantine, "byz", s.Byzantine, "Byzantine members (the last ones; consensus needs n > 3·byz; when not given:\n"+
		"the preset's or 5, at most the largest b with n > 3b)")
	fs.StringVar(&s.Attack, "attack", s.Attack, "attack of the Byzantine members (for reports and sim)")
	fs.StringVar(&s.Aggregator, "agg", s.Aggregator, "robust aggregator")
	fs.IntVar(&s.Bucket, "bucket", s.Bucket, "bucket size")
	fs.StringVar(&s.Compressor, "compress", s.Compressor, "compressor")
	fs.Float64Var(&s.Participation, "participation", s.Participation, "fraction sampled in partial rounds")
	fs.IntVar(&s.Schedule, "schedule", s.Schedule, "a full round every this many rounds (0: random with p)")
	fs.Float64Var(&s.LR, "lr", s.LR, "step size γ")
	fs.IntVar(&s.Batch, "batch", s.Batch, "minibatch size")
	fs.IntVar(&s.Rounds, "rounds", s.Rounds, "rounds to train")
	fs.IntVar(&s.EvalEvery, "eval-every", s.EvalEvery, "record the loss every this many rounds")
	fs.Uint64Var(&s.Seed, "seed", s.Seed, "shared seed")
	tick := fs.Int("tick-ms", genesis.DefaultTimeouts().TickMillis, "protocol tick in milliseconds")
	open := fs.Bool("open", false, "open run: other peers may join (up to --max-members) and members may leave, through changes decided by consensus")
	maxMembers := fs.Int("max-members", 0, "open run: most members at once (default: 4 × the genesis members)")
	silent := fs.Int("silent-rounds", 0, "open run: remove a member that signed nothing for this many rounds (0: never)")
	withFStar := fs.Bool("fstar", true, "compute f* of the honest objective into the genesis so peers report the gap f(x) − f* (logistic regression: well under a second; the MLP: L-BFGS, can take minutes)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("genesis: unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	if len(members) == 0 || *out == "" {
		return errors.New("genesis: --members and --out are required")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := checkGenesisFlags(fs, set, &s, *tick, *maxMembers, *silent); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	if *preset != "" {
		exp, err := experiment.FromPreset(*preset, sim.Default(), []uint64{s.Seed})
		if err != nil {
			return err
		}
		base := exp.Series[0].Spec
		if set["rounds"] {
			base.Rounds = s.Rounds
		}
		if set["byz"] {
			base.Byzantine = s.Byzantine
		}
		if set["seed"] {
			base.Seed = s.Seed
		}
		for _, name := range []string{"data", "test-data"} {
			if set[name] {
				base.Data, base.TestData = s.Data, s.TestData
			}
		}
		s = base
	}
	n := len(members)
	if b := maxBFTByzantine(n); !set["byz"] && s.Byzantine > b {
		fmt.Fprintf(stderr, "note: --byz not given: %d Byzantine of %d members (the most with n > 3·byz; give --byz to choose)\n", b, n)
		s.Byzantine = b
		if b == 0 {
			s.Attack = "none"
		}
	}
	if 3*s.Byzantine >= n {
		return fmt.Errorf("genesis: --byz %d with %d members: consensus (BFT) needs n > 3·byz, so at most %d Byzantine of %d members",
			s.Byzantine, n, maxBFTByzantine(n), n)
	}
	// Read the data now: a genesis naming a file no peer can load would only fail at every peer.
	if err := checkData(&s); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	g, err := genesis.New(*name, members, s)
	if err != nil {
		return err
	}
	g.Timeouts.TickMillis = *tick
	if *open {
		g.Open, g.MaxMembers, g.SilentRounds = true, *maxMembers, *silent
		if g.MaxMembers == 0 {
			g.MaxMembers = 4 * len(g.Members)
		}
	} else if *maxMembers != 0 || *silent != 0 {
		return errors.New("genesis: --max-members and --silent-rounds need --open")
	}
	if err := g.Validate(); err != nil {
		return err
	}
	if c := g.Spec.Sampled(); c == 1 && n > 1 {
		fmt.Fprintf(stderr, "warning: a partial round samples a single member (--participation %g of %d members): when it is Byzantine, "+
			"it alone makes that round's update; raise --participation to at least %g to sample two\n", s.Participation, n, 2/float64(n))
	}
	if *withFStar {
		st, err := sim.Build(g.Spec, nil)
		if err == nil {
			var f float64
			if f, err = st.FStar(); err == nil {
				g.FStar = &f
			}
		}
		if err != nil {
			fmt.Fprintf(stdout, "warning: no f* in the genesis (peers will report the loss but not the gap): %v\n", err)
		}
	}
	for _, m := range g.Members {
		if _, err := peer.Decode(m); err != nil {
			return fmt.Errorf("genesis: member %q is not a peer ID: %w", m, err)
		}
	}
	if err := g.Save(*out); err != nil {
		return err
	}
	id, _ := g.RunID()
	fmt.Fprintf(stdout, "wrote %s: %d members, run %x\n", *out, len(g.Members), id[:8])
	return nil
}
