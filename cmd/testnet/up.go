package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/adversary"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/testnet/curves"
	"github.com/byzpp/byzpp/testnet/experiment"
	"github.com/byzpp/byzpp/testnet/up"
)

// defaultUpOut is the output directory of up, status and down when --out is not given.
const defaultUpOut = "out/testnet"

// defaultUpRounds replaces the paper's 10,000 rounds when neither --rounds, --epochs nor a preset
// says how long to run: a real network decides tens of rounds per second, not thousands.
const defaultUpRounds = 200

// detachedEnv marks the background copy started by `testnet up -d`.
const detachedEnv = "BYZPP_TESTNET_DETACHED"

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// runUp is `testnet up`: N real peer processes on 127.0.0.1.
func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("testnet up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	preset := fs.String("preset", "", "paper preset run over the network: "+strings.Join(experiment.Presets(), ", "))
	series := fs.String("series", "", "with --preset: run only this series (default: every series in turn)")
	out := fs.String("out", defaultUpOut, "output directory")
	seed := fs.Uint64("seed", 1, "shared seed")
	epochs := fs.Float64("epochs", 0, "train for this many passes over a member's data (overrides --rounds)")
	bin := fs.String("peer", "", "peer binary (default: next to testnet, else go build)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up on a series after this long")
	grace := fs.Duration("grace", 5*time.Second, "how long peers may take to stop after SIGTERM before they are killed")
	detach := fs.Bool("d", false, "run in the background; follow with 'testnet status', stop with 'testnet down'")
	quiet := fs.Bool("quiet", false, "no live view")
	noCheck := fs.Bool("no-sim-check", false, "do not compare the curve with 'testnet sim' afterwards")
	tickMS := fs.Int("tick-ms", 0, "protocol tick in milliseconds, which every protocol timeout counts in (0: the genesis default,\n"+
		"10); a model of megabytes needs more on a loaded machine (peer genesis --tick-ms)")
	noFStar := fs.Bool("no-fstar", false, "do not compute f* (no gap in the curve): the mlp's f* is an L-BFGS run of full gradients,\nhours for a million parameters")
	latency := fs.Duration("latency", 0, "delay every protocol message each peer sends, direct or gossiped, by this much\n(e.g. 50ms; peer --publish-delay)")
	logLevel := fs.String("log-level", "info", "log level of the peers (debug, info, warn, error), in OUT/member-I/log;\n"+
		"this harness prints warnings and errors (and debug lines with debug)")
	profile := fs.Bool("profile", false, "every peer writes a CPU profile to OUT/member-I/cpu.pprof (read with go tool pprof)")
	var kills, crashes, parts, joins, leaves, outsiders listFlag
	fs.Var(&outsiders, "outsider", "`KIND@ROUND+DURATION`: when the network reaches ROUND, attack it for DURATION from identities outside\n"+
		"the genesis (its own process): subscribe-flood, stream-garbage, stream-huge, slowloris or sybil; the report compares the\n"+
		"honest rate and memory before, during and after (repeatable; one at a time)")
	fs.Var(&joins, "join", "`K@ROUND`: start K volunteers (keys outside the genesis, one bootstrap address, no genesis file) when the\nnetwork reaches ROUND; they join the run, which is then open (repeatable)")
	silentRounds := fs.Int("silent-rounds", 0, "remove a member that signed nothing for this many decided rounds (0: never); the run is then open")
	fs.Var(&leaves, "leave", "`K@ROUND`: K honest members ask to leave when the network reaches ROUND and stop once it is decided;\nthe run is then open (repeatable)")
	fs.Var(&crashes, "crash", "`K@ROUND`: SIGKILL K honest peers when the network reaches ROUND and never restart them (repeatable)")
	fs.Var(&kills, "kill", "`K@ROUND`: SIGKILL K honest peers when the network reaches ROUND, restart them on their state (repeatable)")
	fs.Var(&parts, "partition", "`FRACTION@ROUND+DURATION`: cut a minority of honest peers off for DURATION, both sides blocking each other\n(peer --control; frozen with SIGSTOP if the peer lacks it), e.g. 0.2@50+5s (repeatable)")
	upDefaults := sim.Default()
	upDefaults.Rounds = defaultUpRounds
	sf := bindSpecFlags(fs, upDefaults)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: testnet up [flags]\n\nStarts one peer process per member on 127.0.0.1, runs the training over the real network,\n"+
			"and writes report.json, report.md, curves.csv, curves.png and curves.svg to --out.\n\n"+
			"--attack takes a comma-separated list, assigned round-robin to the Byzantine peers; '+' gives one peer\n"+
			"several (equivocate,alie+censor). The attacks:\n%s"+
			"-byz defaults to 5, or to the largest b with n > 3b when -n is given without it (consensus needs n > 3·byz).\n\n",
			adversary.Usage("  "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("up: unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["epochs"] && set["rounds"] {
		return errors.New("up: give --rounds or --epochs, not both")
	}
	rules := append(specRules(&sf.values),
		flagRule{"epochs", !(*epochs > 0) || math.IsInf(*epochs, 0), "a positive number"},
		flagRule{"latency", *latency < 0, "0 or a positive duration"},
		flagRule{"timeout", *timeout <= 0, "a positive duration"},
		flagRule{"grace", *grace < 0, "0 or a positive duration"})
	if err := checkFlags(fs, set, rules); err != nil {
		return fmt.Errorf("up: %w", err)
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return fmt.Errorf("up: %w", err)
	}
	attacks, err := up.SplitAttacks(sf.values.Attack)
	if err != nil {
		return err
	}
	if *silentRounds < 0 {
		return fmt.Errorf("--silent-rounds must be ≥ 0, got %d", *silentRounds)
	}
	base := up.Options{SilentRounds: *silentRounds, Attacks: attacks, PeerBin: *bin, Timeout: *timeout, Grace: *grace, Latency: *latency, Profile: *profile, CheckSim: !*noCheck, NoFStar: *noFStar}
	if set["log-level"] {
		base.PeerLogLevel = *logLevel
	}
	if *tickMS != 0 {
		t := genesis.DefaultTimeouts()
		t.TickMillis = *tickMS
		base.Timeouts = &t // checked with the genesis
	}
	if !set["attack"] {
		base.Attacks = nil
	}
	for _, k := range kills {
		kf, err := up.ParseKill(k)
		if err != nil {
			return err
		}
		base.Kills = append(base.Kills, kf)
	}
	for _, c := range crashes {
		kf, err := up.ParseCrash(c)
		if err != nil {
			return err
		}
		base.Kills = append(base.Kills, kf)
	}
	for _, j := range joins {
		c, err := up.ParseChurn("join", j)
		if err != nil {
			return err
		}
		base.Joins = append(base.Joins, c)
	}
	for _, l := range leaves {
		c, err := up.ParseChurn("leave", l)
		if err != nil {
			return err
		}
		base.Leaves = append(base.Leaves, c)
	}
	for _, x := range outsiders {
		of, err := up.ParseOutsider(x)
		if err != nil {
			return err
		}
		base.Outsiders = append(base.Outsiders, of)
	}
	for _, p := range parts {
		pf, err := up.ParsePartition(p)
		if err != nil {
			return err
		}
		base.Partitions = append(base.Partitions, pf)
	}
	exp, err := resolve(*preset, "", sf, set, *seed, 1)
	if err != nil {
		return err
	}
	defaultByzantine(exp, set, stderr)
	if *series != "" {
		if *preset == "" {
			return errors.New("up: --series needs --preset")
		}
		var keep []experiment.Series
		for _, s := range exp.Series {
			if s.Name == *series {
				keep = append(keep, s)
			}
		}
		if keep == nil {
			return fmt.Errorf("up: preset %s has no series %q", *preset, *series)
		}
		exp.Series = keep
	}
	for i := range exp.Series {
		s := &exp.Series[i].Spec
		s.Seed = *seed
		if set["attack"] && len(attacks) > 0 {
			s.Attack = attacks[0] // replaced by the genesis' learning-level attack in up.Run
		}
		if s.Byzantine == 0 {
			s.Attack, base.Attacks = "none", nil
		}
		switch {
		case set["epochs"]:
			st, err := sim.Build(*s, nil)
			if err != nil {
				return fmt.Errorf("series %q: %w", exp.Series[i].Name, err)
			}
			s.Rounds = sim.RoundsForEpochs(st, *epochs)
		case !set["rounds"] && *preset == "":
			s.Rounds = defaultUpRounds
		}
	}
	if err := exp.Validate(); err != nil {
		return err
	}
	if err := checkBFT(exp); err != nil {
		return fmt.Errorf("up: %w", err)
	}
	warnSingleSample(exp, stderr)
	if *detach && os.Getenv(detachedEnv) == "" {
		return startDetached(ctx, args, *out, stdout)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	pidPath := filepath.Join(*out, up.PIDFile)
	if err := os.WriteFile(pidPath, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(pidPath)
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: min(level, slog.LevelWarn)}))
	var all []curves.Row
	for _, s := range exp.Series {
		o := base
		o.Spec, o.Series, o.Logger, o.Out = s.Spec, s.Name, logger, *out
		if len(exp.Series) > 1 {
			o.Out = filepath.Join(*out, s.Name)
		}
		var view *liveView
		if !*quiet {
			view = newLiveView(stderr, s.Name)
			o.OnSnapshot = view.draw
		}
		rep, err := up.Run(ctx, o)
		if view != nil {
			view.finish()
		}
		if rep != nil {
			printUpSummary(stdout, rep, o.Out)
		}
		if err != nil {
			return err
		}
		if b, err := os.ReadFile(filepath.Join(o.Out, "curves.csv")); err == nil {
			rows, _ := curves.ReadCSV(bytes.NewReader(b))
			all = append(all, rows...)
		}
	}
	if len(exp.Series) > 1 {
		return writeCombined(*out, exp, all, stdout)
	}
	return nil
}

// writeCombined puts every series of a preset into one curves.csv and curves.png in dir.
func writeCombined(dir string, exp *experiment.Experiment, rows []curves.Row, stdout io.Writer) error {
	var b bytes.Buffer
	if err := curves.WriteCSV(&b, rows); err != nil {
		return err
	}
	if err := up.WriteFileAtomic(filepath.Join(dir, "curves.csv"), b.Bytes()); err != nil {
		return err
	}
	info, err := curves.Draw(filepath.Join(dir, "curves.png"), "byzpp testnet up: "+exp.Preset, rows, false)
	if err != nil {
		fmt.Fprintf(stdout, "wrote %s (all series); no plot: %v\n", filepath.Join(dir, "curves.csv"), err)
		return nil
	}
	fmt.Fprintf(stdout, "wrote %s, curves.png and curves.svg (all series)\n", filepath.Join(dir, "curves.csv"))
	if info.Note != "" {
		fmt.Fprintf(stdout, "plot: %s\n", info.Note)
	}
	return nil
}

func printUpSummary(w io.Writer, rep *up.Report, dir string) {
	fmt.Fprintf(w, "%s: %s\n", rep.Config.Series, up.Verdict(rep))
	fmt.Fprintf(w, "wrote %s (report.json, report.md, curves.csv, curves.png, curves.svg)\n", dir)
}
