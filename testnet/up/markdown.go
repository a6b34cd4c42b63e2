package up

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// PlotNote is what report.md says about the plot: Missing is why there is none (the plot failed), Note
// what it could not show.
type PlotNote struct {
	Missing string
	Note    string
}

// Markdown renders report.md: the verdict in plain words, the configuration, the plot and a table
// per peer.
func Markdown(rep *Report, plot PlotNote) string {
	var b strings.Builder
	s := rep.Config.Spec
	fmt.Fprintf(&b, "# byzpp testnet: %s\n\n", rep.Config.Series)
	fmt.Fprintf(&b, "## Verdict\n\n%s\n\n", Verdict(rep))
	fmt.Fprintf(&b, "## Configuration\n\n")
	attacks := "none"
	if s.Byzantine > 0 {
		attacks = strings.Join(rep.Config.Attacks, ", ")
		if attacks == "" {
			attacks = s.Attack
		}
	}
	fmt.Fprintf(&b, "- %d peers, %d Byzantine (attacks, round-robin: %s), one OS process each on 127.0.0.1\n", s.Members, s.Byzantine, attacks)
	fmt.Fprintf(&b, "- %s on %s (split %s), aggregator %s (bucket %d), λ = %s, participation %.2g, γ = %g, b = %d, compressor %s\n",
		s.Model, s.Data, s.Split, s.Aggregator, s.Bucket, s.Lambda, s.Participation, s.LR, s.Batch, s.Compressor)
	fmt.Fprintf(&b, "- %d rounds, a full round every %d, seed %d; run id `%.16s…`\n", s.Rounds, s.Schedule, s.Seed, rep.Config.RunID)
	var faults []string
	for _, k := range rep.Config.Kills {
		faults = append(faults, "kill "+k)
	}
	for _, k := range rep.Config.Crashes {
		faults = append(faults, "crash "+k+" (never restarted)")
	}
	for _, p := range rep.Config.Partitions {
		faults = append(faults, "partition "+p)
	}
	for _, x := range rep.Config.Outsiders {
		faults = append(faults, "outsider "+x)
	}
	if rep.Config.LatencyMS > 0 {
		faults = append(faults, fmt.Sprintf("latency %g ms per publish", rep.Config.LatencyMS))
	}
	if len(faults) > 0 {
		fmt.Fprintf(&b, "- faults: %s\n", strings.Join(faults, "; "))
	}
	fmt.Fprintf(&b, "\n## Outcome\n\n| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| outcome | %s |\n| honest peers agree | %v |\n| rounds decided | %d of %d |\n", rep.Outcome, rep.HonestAgree, rep.RoundsDecided, s.Rounds)
	fmt.Fprintf(&b, "| failed consensus attempts | %d |\n| wall time | %.1f s |\n| rounds per second | %.2f |\n", rep.AttemptsFailed, rep.WallSeconds, rep.RoundsPerSecond)
	fmt.Fprintf(&b, "| honest loss | %s → %s |\n| gap f(x) − f* | %s → %s |\n", num(rep.InitialLoss), num(rep.FinalLoss), num(rep.InitialGap), num(rep.FinalGap))
	if rep.HonestPeakRSS > 0 {
		fmt.Fprintf(&b, "| honest peak RSS (VmHWM) | %s |\n", bytesText(rep.HonestPeakRSS))
	}
	if rep.SimMatch != nil {
		fmt.Fprintf(&b, "| same curve as `testnet sim` | %v |\n", *rep.SimMatch)
	}
	if rep.TestData != "" {
		fmt.Fprintf(&b, "| test accuracy on %s | %s |\n| test loss on %s | %s |\n", rep.TestData, accuracy(rep.TestAccuracy), rep.TestData, num(rep.TestLoss))
	}
	if rep.TestSource != "" {
		fmt.Fprintf(&b, "\nHeld-out score: %s.\n", rep.TestSource)
	}
	if m := rep.Model; m != nil {
		fmt.Fprintf(&b, "\nFinal model: `model.npy` (the weights; `numpy.load(\"model.npy\")`) and `model.json` (run, round %d, state digest %.12s…, "+
			"the certificate of %d of %d members), served by member %d. Check it: `peer verify-model --genesis genesis.json --model model.json`.\n",
			m.Round, m.Digest, m.Signers, m.Members, m.From)
	}
	if plot.Missing != "" {
		fmt.Fprintf(&b, "\nNo plot: %s\n", plot.Missing)
	} else {
		fmt.Fprintf(&b, "\n![gap against epochs](curves.png) (also curves.svg)\n")
		if plot.Note != "" {
			fmt.Fprintf(&b, "\nThe plot: %s.\n", plot.Note)
		}
	}
	fmt.Fprintf(&b, "\n## Peers\n\n| member | role | final round | digest | sent | received | rejected | penalised by | blocked by | blamed for | restarts |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range rep.Peers {
		role := "honest"
		if !p.Honest {
			role = "Byzantine: " + p.Attack
		}
		pen := "n/a"
		if p.Penalised != nil {
			pen = fmt.Sprint(*p.Penalised)
		}
		blk := "n/a"
		if p.BlockedBy != nil {
			blk = fmt.Sprint(*p.BlockedBy)
		}
		fmt.Fprintf(&b, "| %d | %s | %d | `%.12s` | %s | %s | %s | %s | %s | %s | %d |\n", p.Index, role, p.FinalRound, p.FinalDigest,
			bytesText(p.BytesSent), bytesText(p.BytesReceived), reasons(p.Rejected), pen, blk, reasons(p.Blamed), p.Restarts)
	}
	outsidersMarkdown(&b, rep.Outsiders)
	if len(rep.Events) > 0 {
		fmt.Fprintf(&b, "\n## Events\n\n")
		for _, e := range rep.Events {
			fmt.Fprintf(&b, "- %.1f s (round %d): members %v %s\n", e.Seconds, e.Round, e.Peers, e.What)
		}
	}
	return b.String()
}

// Verdict says in plain words whether the run was safe, live and learned.
func Verdict(rep *Report) string {
	s := rep.Config.Spec
	honest := 0
	for _, p := range rep.Peers {
		if p.Honest {
			honest++
		}
	}
	var out []string
	if !rep.HonestAgree {
		out = append(out, fmt.Sprintf("**Safety violated**: the %d honest peers do not end on the same model.", honest))
	} else {
		out = append(out, fmt.Sprintf("**Safe**: all %d honest peers end on the same model (the same state digest).", honest))
	}
	if rep.RoundsDecided >= uint64(s.Rounds) {
		out = append(out, fmt.Sprintf("**Live**: they decided all %d rounds in %.1f s (%.2f rounds/s, %d failed attempts).",
			s.Rounds, rep.WallSeconds, rep.RoundsPerSecond, rep.AttemptsFailed))
	} else {
		out = append(out, fmt.Sprintf("**Not finished** (%s): every honest peer decided %d of %d rounds.", rep.Outcome, rep.RoundsDecided, s.Rounds))
	}
	ig, fg := float64(rep.InitialGap), float64(rep.FinalGap)
	il, fl := float64(rep.InitialLoss), float64(rep.FinalLoss)
	switch {
	case !math.IsNaN(ig) && !math.IsNaN(fg) && fg < ig:
		out = append(out, fmt.Sprintf("**Learned**: the honest gap to the optimum fell %.3g-fold, from %.3e to %.3e.", ig/fg, ig, fg))
	case !math.IsNaN(il) && !math.IsNaN(fl) && fl < il:
		out = append(out, fmt.Sprintf("**Learned**: the honest loss fell from %.4g to %.4g.", il, fl))
	case math.IsNaN(fl):
		out = append(out, "**No learning measured**: no loss was recorded.")
	default:
		out = append(out, fmt.Sprintf("**Did not learn**: the honest loss went from %.4g to %.4g.", il, fl))
	}
	if ta := float64(rep.TestAccuracy); !math.IsNaN(ta) {
		out = append(out, fmt.Sprintf("The final model classifies %.1f%% of the held-out %s correctly.", 100*ta, rep.TestData))
	}
	var rejected uint64
	for _, p := range rep.Peers {
		if p.Honest {
			rejected += p.Rejected["total"]
			for k, v := range p.Rejected {
				if k != "total" {
					rejected += v
				}
			}
		}
	}
	if s.Byzantine > 0 {
		out = append(out, fmt.Sprintf("The honest peers rejected %d gossip messages in all.", rejected))
	}
	if pr := rep.PerRound; pr != nil && pr.Messages > 0 {
		out = append(out, fmt.Sprintf("A round cost the peers %s of protocol messages: %.0f messages in %.0f stream writes.",
			bytesText(int64(pr.Bytes)), pr.Messages, pr.Writes))
	}
	if rep.SimMatch != nil {
		if *rep.SimMatch {
			out = append(out, "The curve is the simulator's, number for number.")
		} else if rep.SimComparable {
			out = append(out, "**The curve differs from the simulator's** for the same configuration and seed: timing "+
				"changed what was aggregated (a leader's collection window closed before every sampled message arrived, or "+
				"a Byzantine member crafted its message before seeing every honest one), as happens when the machine is "+
				"too loaded for the genesis timeouts.")
		} else {
			out = append(out, "The curve differs from the simulator's, as it may: the network-level attacks change which messages are aggregated or when.")
		}
	}
	return strings.Join(out, " ")
}

func accuracy(x Num) string {
	if math.IsNaN(float64(x)) {
		return "n/a"
	}
	return fmt.Sprintf("%.4f", float64(x))
}

func num(x Num) string {
	if math.IsNaN(float64(x)) {
		return "n/a"
	}
	return fmt.Sprintf("%.4e", float64(x))
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// reasons writes rejection counts as "reason: n, …" in a fixed order.
func reasons(m map[string]uint64) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "0"
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// outsidersMarkdown writes the --outsider table: the honest rate (rounds decided by every honest peer
// a second) over the window before the attack, during it and after it, the honest peers' peak
// resident set before and during, and how many honest peers blocked or graylisted the attacker.
func outsidersMarkdown(b *strings.Builder, outs []OutsiderReport) {
	if len(outs) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Outsider attacks\n\nRates are rounds decided by every honest peer per second over the attack's length "+
		"before it, during it and after it; RSS is the largest resident set of any honest peer process sampled before the attack, "+
		"and during it and the window after.\n\n")
	fmt.Fprintf(b, "| attack | identities | rate before | during | after | during/before | peak RSS before | during | ratio | blocked by | graylisted by | invalid input |\n")
	fmt.Fprintf(b, "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, o := range outs {
		after := rateText(o.After)
		if o.AfterSeconds > 0 && o.AfterSeconds < 0.9*(o.EndSeconds-o.StartSeconds) {
			after += fmt.Sprintf(" (%.1f s)", o.AfterSeconds)
		}
		fmt.Fprintf(b, "| `%s` | %d | %s | %s | %s | %s | %s | %s | %s | %d of %d | %d of %d | %s |\n", o.Attack, o.Identities,
			rateText(o.Before), rateText(o.During), after, pct(o.Ratio), bytesText(o.PeakRSSBefore), bytesText(o.PeakRSSDuring),
			times(o.RSSRatio), o.BlockedBy, o.HonestPeers, o.GraylistedBy, o.HonestPeers, reasons(o.InvalidInputs))
	}
}

func rateText(x Num) string {
	if math.IsNaN(float64(x)) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(x))
}

func pct(x Num) string {
	if math.IsNaN(float64(x)) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(x))
}

func times(x Num) string {
	if math.IsNaN(float64(x)) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", float64(x))
}
