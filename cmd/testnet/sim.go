package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/byzpp/byzpp/algo/attack"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/testnet/curves"
	"github.com/byzpp/byzpp/testnet/experiment"
	"github.com/byzpp/byzpp/testnet/progress"
	"github.com/byzpp/byzpp/testnet/up"
)

// specFlags binds one flag per Spec field and remembers how to copy a set flag onto any spec.
type specFlags struct {
	values sim.Spec
	apply  map[string]func(dst *sim.Spec)
}

// bindSpecFlags binds the spec flags with base's values as their defaults.
func bindSpecFlags(fs *flag.FlagSet, base sim.Spec) *specFlags {
	sf := &specFlags{values: base, apply: map[string]func(*sim.Spec){}}
	v := &sf.values
	str := func(p *string, name, usage string, copyTo func(*sim.Spec)) {
		fs.StringVar(p, name, *p, usage)
		sf.apply[name] = copyTo
	}
	integer := func(p *int, name, usage string, copyTo func(*sim.Spec)) {
		fs.IntVar(p, name, *p, usage)
		sf.apply[name] = copyTo
	}
	float := func(p *float64, name, usage string, copyTo func(*sim.Spec)) {
		fs.Float64Var(p, name, *p, usage)
		sf.apply[name] = copyTo
	}
	str(&v.Data, "data", "data set: a built-in name (a9a) or the path of a LIBSVM file (plain or .gz)", func(d *sim.Spec) { d.Data = v.Data })
	str(&v.TestData, "test-data", "held-out set the reports score the model on: a built-in name, the path of a LIBSVM file,\n"+
		"or none (default: a9a.t for a9a, none for other data)", func(d *sim.Spec) { d.TestData = v.TestData })
	integer(&v.Features, "features", "number of features (0: from the file; a9a.t needs 123 to match a9a)", func(d *sim.Spec) { d.Features = v.Features })
	fs.BoolVar(&v.Normalize, "normalize", v.Normalize, "scale every row to unit L2 norm (the authors' code does)")
	sf.apply["normalize"] = func(d *sim.Spec) { d.Normalize = v.Normalize }
	str(&v.Split, "split", "how members share the data: full (each holds all of it), iid, label (heterogeneous)", func(d *sim.Spec) { d.Split = v.Split })
	str(&v.Model, "model", "logreg | mlp", func(d *sim.Spec) { d.Model = v.Model })
	integer(&v.Hidden, "hidden", "hidden units of the mlp", func(d *sim.Spec) { d.Hidden = v.Hidden })
	float(&v.L2, "l2", "L2 penalty η of the objective", func(d *sim.Spec) { d.L2 = v.L2 })
	integer(&v.Members, "n", "number of members", func(d *sim.Spec) { d.Members = v.Members })
	integer(&v.Byzantine, "byz", "number of Byzantine members among them (when -n is given without --byz: the largest b\n"+
		"with n > 3b if that is fewer)", func(d *sim.Spec) { d.Byzantine = v.Byzantine })
	str(&v.Attack, "attack", "Byzantine behaviour: "+strings.Join(attack.Names(), ", ")+" (parameters like alie:z=1, ipm:eps=0.1, noise:sigma=1)", func(d *sim.Spec) { d.Attack = v.Attack })
	str(&v.Variant, "variant", "update rule: marina-pp, sgdm (robust momentum SGD), sgdm-clip (with the paper's eq. 10 clipping)", func(d *sim.Spec) { d.Variant = v.Variant })
	str(&v.Aggregator, "agg", "robust aggregator: mean, cm, tm, krum, mkrum:M, gm, cclip", func(d *sim.Spec) { d.Aggregator = v.Aggregator })
	integer(&v.Bucket, "bucket", "bucket size s of bucketing (≤ 1: none)", func(d *sim.Spec) { d.Bucket = v.Bucket })
	integer(&v.AggByzantine, "agg-byz", "f given to tm/krum (-1: the number of Byzantine members)", func(d *sim.Spec) { d.AggByzantine = v.AggByzantine })
	str(&v.Compressor, "compress", "compressor: none, randk:K, randk:FRACTION, dither:S, natural", func(d *sim.Spec) { d.Compressor = v.Compressor })
	float(&v.P, "p", "probability of a full round (used when --schedule is 0)", func(d *sim.Spec) { d.P = v.P; d.Schedule = 0 })
	integer(&v.Schedule, "schedule", "one full round every this many rounds, as the authors' code (0: Bernoulli coin with --p)", func(d *sim.Spec) { d.Schedule = v.Schedule })
	float(&v.Participation, "participation", "fraction of members sampled in a partial round (1: full participation)", func(d *sim.Spec) { d.Participation = v.Participation })
	float(&v.LR, "lr", "step size γ", func(d *sim.Spec) { d.LR = v.LR })
	fs.Func("lambda", "clipping multiplier λ (threshold λ‖x^{k+1}−x^k‖), or none (default 1)", func(s string) error {
		l, err := sim.ParseLambda(s)
		v.Lambda = l
		return err
	})
	sf.apply["lambda"] = func(d *sim.Spec) { d.Lambda = v.Lambda }
	integer(&v.Batch, "batch", "minibatch size b", func(d *sim.Spec) { d.Batch = v.Batch })
	float(&v.Momentum, "momentum", "momentum β of the sgdm variants", func(d *sim.Spec) { d.Momentum = v.Momentum })
	integer(&v.Rounds, "rounds", "number of rounds", func(d *sim.Spec) { d.Rounds = v.Rounds })
	integer(&v.EvalEvery, "eval-every", "record the loss every this many rounds", func(d *sim.Spec) { d.EvalEvery = v.EvalEvery })
	return sf
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	preset := fs.String("preset", "", "paper preset: "+strings.Join(experiment.Presets(), ", "))
	config := fs.String("config", "", "JSON config: a config.json from an earlier run, or a run spec")
	out := fs.String("out", "", "directory for curves.csv, curves.png and config.json")
	seeds := fs.Int("seeds", 1, "number of seeds (a preset runs 3 unless this is given)")
	seed := fs.Uint64("seed", 1, "first seed; seeds are seed, seed+1, …")
	epochs := fs.Float64("epochs", 0, "train for this many passes over a member's data (overrides --rounds)")
	workers := fs.Int("workers", 0, "runs in parallel (0: one per core)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	timings := fs.Bool("timings", false, "print on stderr where the wall time went (start-up, data, f*, rounds, scoring, outputs)")
	tm := simTimings{began: time.Now()}
	sf := bindSpecFlags(fs, sim.Default())
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: testnet sim [flags]\n\nTrains in one process, deterministically from the seed. Defaults are the paper's Figure 1 setting.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["epochs"] && set["rounds"] {
		return fmt.Errorf("give --rounds or --epochs, not both")
	}
	rules := append(specRules(&sf.values),
		flagRule{"epochs", !(*epochs > 0) || math.IsInf(*epochs, 0), "a positive number"},
		flagRule{"workers", *workers < 0, "0 (one per core) or more"},
		flagRule{"seeds", *seeds < 1, "at least 1"})
	if err := checkFlags(fs, set, rules); err != nil {
		return err
	}

	exp, err := resolve(*preset, *config, sf, set, *seed, *seeds)
	if err != nil {
		return err
	}
	defaultByzantine(exp, set, stderr)
	warnSingleSample(exp, stderr)
	cache := &sim.DataCache{} // the runs find the data --epochs loaded
	if set["epochs"] {
		for i := range exp.Series {
			st, err := sim.Build(exp.Series[i].Spec, cache)
			if err != nil {
				return fmt.Errorf("series %q: %w", exp.Series[i].Name, err)
			}
			exp.Series[i].Spec.Rounds = sim.RoundsForEpochs(st, *epochs)
		}
	}
	if err := exp.Validate(); err != nil {
		return err
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return fmt.Errorf("creating output directory: %w", err)
		}
	}

	tm.resolved = time.Now()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("creating CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("starting CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	jobs := exp.Jobs()
	var total int64
	for _, j := range jobs {
		total += int64(j.Spec.Rounds)
	}
	var bar *progress.Bar
	report := func(int64) {}
	if !*quiet {
		bar = progress.New(stderr, "sim", "rounds", total)
		report = bar.Set
	}
	start := time.Now()
	results, err := sim.RunManyWith(ctx, cache, jobs, *workers, report)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	tm.ran = time.Now()
	tm.addRuns(results)
	if *timings {
		defer func() { tm.print(stderr) }()
	}

	rows := toRows(results)
	printSummary(stdout, rows, len(jobs), total, elapsed)
	if *out == "" {
		fmt.Fprintln(stdout, "(give --out DIR to write curves.csv, curves.png and config.json)")
		return nil
	}
	defer func() { tm.wrote = time.Now() }()
	// The model is written while the curves and the plot are (its message printed after theirs).
	var modelMsg bytes.Buffer
	var modelErr error
	var wg sync.WaitGroup
	wg.Go(func() { modelErr = writeSimModel(*out, results, &modelMsg) }) // simmodel.go
	err = writeOutputs(*out, exp, rows, stdout)
	wg.Wait()
	if err != nil {
		return err
	}
	stdout.Write(modelMsg.Bytes())
	return modelErr
}

// resolve builds the experiment: a config file or a preset or the defaults, then the flags given on
// the command line override every series.
func resolve(preset, config string, sf *specFlags, set map[string]bool, seed uint64, seeds int) (*experiment.Experiment, error) {
	if preset != "" && config != "" {
		return nil, fmt.Errorf("give --preset or --config, not both")
	}
	if seeds < 1 {
		return nil, fmt.Errorf("--seeds must be at least 1, got %d", seeds)
	}
	var exp *experiment.Experiment
	var err error
	switch {
	case config != "":
		exp, err = experiment.Load(config)
	case preset != "":
		count := 3
		if set["seeds"] {
			count = seeds
		}
		exp, err = experiment.FromPreset(preset, sim.Default(), experiment.Seeds(seed, count))
	default:
		exp = &experiment.Experiment{Seeds: experiment.Seeds(seed, seeds), Series: []experiment.Series{{Name: "run", Spec: sim.Default()}}}
	}
	if err != nil {
		return nil, err
	}
	if config != "" && (set["seed"] || set["seeds"]) {
		exp.Seeds = experiment.Seeds(seed, seeds)
	}
	for i := range exp.Series {
		for name, apply := range sf.apply {
			if set[name] {
				apply(&exp.Series[i].Spec)
			}
		}
	}
	return exp, nil
}

func toRows(results []sim.JobResult) []curves.Row {
	var rows []curves.Row
	for _, r := range results {
		for _, p := range r.Points {
			rows = append(rows, curves.Row{Series: r.Series, Seed: r.Spec.Seed, Epoch: p.Epoch, Round: p.Round, Loss: p.Loss, Gap: p.Gap,
				TestLoss: p.TestLoss, TestAccuracy: p.TestAccuracy})
		}
	}
	return rows
}

func printSummary(w io.Writer, rows []curves.Row, runs int, rounds int64, elapsed time.Duration) {
	fmt.Fprintf(w, "%d runs, %d rounds in %.1fs\n", runs, rounds, elapsed.Seconds())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "series\tseeds\trounds\tepochs\tfinal gap (median)\tbest seed\tworst seed\ttest accuracy (median)")
	for _, s := range summaries(rows) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.3e\t%.3e\t%.3e\t%s\n", s.Series, s.Seeds, s.Rounds, s.Epochs, s.Gap, s.GapBest, s.GapWorst, accuracyText(s.TestAccuracy))
	}
	tw.Flush()
}

func writeOutputs(dir string, exp *experiment.Experiment, rows []curves.Row, stdout io.Writer) error {
	title := "byzpp sim"
	if exp.Preset != "" {
		title += ": " + exp.Preset
	}
	// The plot, the slowest of the files, is drawn while the others are written.
	var (
		info    curves.PlotInfo
		plotErr error
		plotted = make(chan struct{})
	)
	go func() {
		defer close(plotted)
		info, plotErr = curves.Draw(filepath.Join(dir, "curves.png"), title, rows, false)
	}()
	defer func() { <-plotted }() // an early return leaves no drawing behind
	var csvBuf bytes.Buffer
	if err := curves.WriteCSV(&csvBuf, rows); err != nil {
		return err
	}
	cfg, err := json.MarshalIndent(exp, "", "  ")
	if err != nil {
		return err
	}
	for name, content := range map[string][]byte{"curves.csv": csvBuf.Bytes(), "config.json": append(cfg, '\n')} {
		if err := up.WriteFileAtomic(filepath.Join(dir, name), content); err != nil {
			return err
		}
	}
	written := []string{filepath.Join(dir, "curves.csv"), filepath.Join(dir, "config.json")}
	// The report is written whatever the plot does: a plot that fails is said so in it.
	<-plotted
	written = append(written, info.Files...)
	if err := up.WriteFileAtomic(filepath.Join(dir, "report.md"), []byte(simReport(title, exp, rows, info, plotErr))); err != nil {
		return err
	}
	written = append(written, filepath.Join(dir, "report.md"))
	fmt.Fprintf(stdout, "wrote %s\n", strings.Join(written, ", "))
	if info.Note != "" {
		fmt.Fprintf(stdout, "plot: %s\n", info.Note)
	}
	if plotErr != nil {
		fmt.Fprintf(stdout, "plot: not drawn: %v\n", plotErr)
	}
	return nil
}
