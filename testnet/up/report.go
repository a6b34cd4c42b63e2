package up

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/testnet/curves"
)

// Config is the configuration part of report.json: enough to run the same testnet again.
type Config struct {
	Spec       sim.Spec `json:"spec"` // as written to the genesis (Attack is the learning-level one)
	Series     string   `json:"series"`
	Attacks    []string `json:"attacks,omitempty"` // the list given, assigned round-robin
	Kills      []string `json:"kills,omitempty"`
	Partitions []string `json:"partitions,omitempty"`
	LatencyMS  float64  `json:"latency_ms,omitempty"`
	RunID      string   `json:"run_id"`
}

// PeerReport is one peer's outcome.
type PeerReport struct {
	Index         int    `json:"index"` // genesis member index
	ID            string `json:"id"`
	Honest        bool   `json:"honest"`
	Attack        string `json:"attack,omitempty"`
	FinalRound    uint64 `json:"final_round"`
	FinalDigest   string `json:"final_digest"`
	BytesSent     int64  `json:"bytes_sent"`
	BytesReceived int64  `json:"bytes_received"`
	// Rejected counts the gossip messages this peer's validators rejected, by reason ("total" only
	// when the peer does not break them down).
	Rejected map[string]uint64 `json:"rejected"`
	// Penalised is how many honest peers report penalising this one (graylisted by peer score);
	// null when the peers do not report it.
	Penalised    *int   `json:"penalised"`
	Evidence     uint64 `json:"equivocation_evidence"`
	BadProposals uint64 `json:"bad_proposals"`
	Restarts     int    `json:"restarts,omitempty"`
}

// Report is report.json.
type Report struct {
	Config        Config `json:"config"`
	Outcome       string `json:"outcome"` // done, interrupted, timed-out, failed
	HonestAgree   bool   `json:"honest_agree"`
	RoundsDecided uint64 `json:"rounds_decided"` // by every honest peer
	// AttemptsFailed counts consensus attempts that ended without a decision; sampled means the
	// peers do not count them and the harness saw them in its polls (a lower bound).
	AttemptsFailed        uint64       `json:"attempts_failed"`
	AttemptsFailedSampled bool         `json:"attempts_failed_sampled,omitempty"`
	RoundsPerSecond       float64      `json:"rounds_per_second"`
	WallSeconds           float64      `json:"wall_seconds"`
	FinalLoss             Num          `json:"final_loss"`
	FinalGap              Num          `json:"final_gap"`
	InitialLoss           Num          `json:"initial_loss"`
	InitialGap            Num          `json:"initial_gap"`
	SimComparable         bool         `json:"sim_comparable"`      // no fault or attack makes the run differ from `testnet sim`
	SimMatch              *bool        `json:"sim_match,omitempty"` // the curve equals sim's, number for number
	Peers                 []PeerReport `json:"peers"`
	Events                []Event      `json:"events,omitempty"`
}

func buildReport(o *Options, pl *plan, tr *tracker, snap *Snapshot, curve []curvePoint, wall float64) *Report {
	cfg := Config{Spec: pl.genesis.Spec, Series: o.Series, Attacks: o.Attacks, LatencyMS: float64(o.Latency) / float64(time.Millisecond)}
	if id, err := pl.genesis.RunID(); err == nil {
		cfg.RunID = fmt.Sprintf("%x", id)
	}
	for _, k := range o.Kills {
		cfg.Kills = append(cfg.Kills, fmt.Sprintf("%d@%d", k.Count, k.Round))
	}
	for _, p := range o.Partitions {
		cfg.Partitions = append(cfg.Partitions, fmt.Sprintf("%v@%d+%v", p.Fraction, p.Round, p.Duration))
	}
	rep := &Report{Config: cfg, Outcome: snap.Phase, HonestAgree: true, RoundsDecided: snap.Round, WallSeconds: wall,
		FinalLoss: Num(math.NaN()), FinalGap: Num(math.NaN()), InitialLoss: Num(math.NaN()), InitialGap: Num(math.NaN()),
		Events: tr.events}
	rep.AttemptsFailed, rep.AttemptsFailedSampled = tr.attemptsFailed(pl.procs)
	if wall > 0 {
		rep.RoundsPerSecond = float64(snap.Round) / wall
	}
	if len(curve) > 0 {
		rep.InitialLoss, rep.InitialGap = curve[0].Loss, curve[0].Gap
		rep.FinalLoss, rep.FinalGap = curve[len(curve)-1].Loss, curve[len(curve)-1].Gap
	}
	penalised := map[string]int{}
	reported := false
	for i, p := range pl.procs {
		if s := tr.last[i]; p.honest && s != nil && s.Penalised != nil {
			reported = true
			for _, id := range s.Penalised {
				penalised[id]++
			}
		}
	}
	digest := ""
	networkAttack := false
	for i, p := range pl.procs {
		v := snap.Peers[i]
		pr := PeerReport{Index: p.index, ID: p.id, Honest: p.honest, Attack: p.attack, FinalRound: v.Round,
			FinalDigest: v.Digest, BytesSent: v.BytesOut, BytesReceived: v.BytesIn, Rejected: v.RejectedBy,
			Evidence: v.Evidence, BadProposals: v.BadProposals, Restarts: p.restarts}
		if pr.Rejected == nil {
			pr.Rejected = map[string]uint64{"total": v.Rejected}
		}
		if reported {
			c := penalised[p.id]
			pr.Penalised = &c
		}
		rep.Peers = append(rep.Peers, pr)
		networkAttack = networkAttack || (p.attack != "" && IsNetworkAttack(p.attack) && learningEquivalent(p.attack) != "silent")
		if !p.honest {
			continue
		}
		if digest == "" {
			digest = v.Digest
		} else if v.Digest != digest {
			rep.HonestAgree = false
		}
	}
	rep.SimComparable = pl.comparable && !networkAttack && len(o.Kills) == 0 && len(o.Partitions) == 0 && o.Latency == 0
	return rep
}

// rows converts a peer's curve to curves.csv rows.
func rows(series string, seed uint64, curve []curvePoint) []curves.Row {
	out := make([]curves.Row, 0, len(curve))
	for _, p := range curve {
		out = append(out, curves.Row{Series: series, Seed: seed, Epoch: float64(p.Epoch), Round: p.Round, Loss: float64(p.Loss), Gap: float64(p.Gap)})
	}
	return out
}

// SimRows runs `testnet sim`'s computation for spec and returns its curve as rows.
func SimRows(ctx context.Context, series string, spec sim.Spec) ([]curves.Row, error) {
	res, err := sim.RunMany(ctx, []sim.Job{{Series: series, Spec: spec}}, 1, nil)
	if err != nil {
		return nil, err
	}
	var out []curves.Row
	for _, p := range res[0].Points {
		out = append(out, curves.Row{Series: series, Seed: spec.Seed, Epoch: p.Epoch, Round: p.Round, Loss: p.Loss, Gap: p.Gap})
	}
	return out, nil
}

// SameRows reports whether two curves are equal number for number (NaN equal to NaN); when they are
// not, it says where they first differ.
func SameRows(a, b []curves.Row) (bool, string) {
	if len(a) != len(b) {
		return false, fmt.Sprintf("%d points against %d", len(a), len(b))
	}
	same := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
	for i := range a {
		if a[i].Round != b[i].Round || !same(a[i].Epoch, b[i].Epoch) || !same(a[i].Loss, b[i].Loss) || !same(a[i].Gap, b[i].Gap) {
			return false, fmt.Sprintf("point %d: %+v against %+v", i, a[i], b[i])
		}
	}
	return true, ""
}

func writeOutputs(ctx context.Context, o *Options, rep *Report, curve []curvePoint) error {
	rs := rows(o.Series, rep.Config.Spec.Seed, curve)
	if rep.SimComparable && rep.Outcome == "done" && o.CheckSim {
		if want, err := SimRows(ctx, o.Series, rep.Config.Spec); err == nil {
			ok, where := SameRows(rs, want)
			rep.SimMatch = &ok
			if !ok {
				o.Logger.Warn("the network's curve differs from sim's", "where", where)
			}
		}
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(o.Out, "report.json"), append(b, '\n')); err != nil {
		return err
	}
	var csv strings.Builder
	if err := curves.WriteCSV(&csv, rs); err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(o.Out, "curves.csv"), []byte(csv.String())); err != nil {
		return err
	}
	plotted := len(rs) > 0
	if plotted {
		if err := curves.PlotPNG(filepath.Join(o.Out, "curves.png"), "byzpp testnet up: "+o.Series, rs, false); err != nil {
			o.Logger.Warn("plotting curves.png", "err", err)
			plotted = false
		}
	}
	return WriteFileAtomic(filepath.Join(o.Out, "report.md"), []byte(Markdown(rep, plotted)))
}
