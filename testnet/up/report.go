package up

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/status"
	"github.com/byzpp/byzpp/testnet/curves"
)

// Config is the configuration part of report.json: enough to run the same testnet again.
type Config struct {
	Spec       sim.Spec `json:"spec"` // as written to the genesis (Attack is the learning-level one)
	Series     string   `json:"series"`
	Attacks    []string `json:"attacks,omitempty"` // the list given, assigned round-robin
	Kills      []string `json:"kills,omitempty"`
	Crashes    []string `json:"crashes,omitempty"`
	Partitions []string `json:"partitions,omitempty"`
	Joins      []string `json:"joins,omitempty"`  // --join K@ROUND: volunteers that joined the open run
	Leaves     []string `json:"leaves,omitempty"` // --leave K@ROUND: members that left it
	LatencyMS  float64  `json:"latency_ms,omitempty"`
	Outsiders  []string `json:"outsiders,omitempty"` // --outsider KIND@ROUND+DURATION
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
	// WireBytesSent/Received count every byte of every libp2p stream, as of up to a second before
	// the end (libp2p's meters tick once a second).
	WireBytesSent     int64 `json:"wire_bytes_sent"`
	WireBytesReceived int64 `json:"wire_bytes_received"`
	// MessagesSent counts the protocol messages it sent directly to members, WritesSent the stream
	// writes that carried them (messages for one member queued together leave in one write).
	MessagesSent int64 `json:"messages_sent"`
	WritesSent   int64 `json:"writes_sent"`
	// Rejected counts the gossip messages this peer's validators rejected, by reason ("total" only
	// when the peer does not break them down).
	Rejected map[string]uint64 `json:"rejected"`
	// Penalised is how many honest peers penalise this one: name it in their blame counters or
	// graylist it; null when the peers report neither. Blamed sums the honest peers' blame counters
	// for it by kind of offence.
	Penalised *int `json:"penalised"`
	// BlockedBy is how many honest peers' connection gaters block it at the end (cut off); null when
	// the peers do not say (an older peer binary).
	BlockedBy    *int              `json:"blocked_by"`
	Blamed       map[string]uint64 `json:"blamed,omitempty"`
	Evidence     uint64            `json:"equivocation_evidence"`
	BadProposals uint64            `json:"bad_proposals"`
	Restarts     int               `json:"restarts,omitempty"`
}

// PerRound is what a round costs all peers together.
type PerRound struct {
	Bytes    float64 `json:"bytes"`
	Messages float64 `json:"messages"`
	Writes   float64 `json:"writes"`
}

// Report is report.json.
type Report struct {
	Config  Config `json:"config"`
	Outcome string `json:"outcome"` // done, interrupted, timed-out, failed
	// HonestAgree: no two honest peers at the same round hold different states. When the run is done
	// every honest peer is at the last round, so they all hold the same model.
	HonestAgree   bool   `json:"honest_agree"`
	RoundsDecided uint64 `json:"rounds_decided"` // by every honest peer
	// AttemptsFailed counts consensus attempts that ended without a decision, as the honest peers
	// count them (the largest count).
	AttemptsFailed  uint64  `json:"attempts_failed"`
	RoundsPerSecond float64 `json:"rounds_per_second"`
	WallSeconds     float64 `json:"wall_seconds"`
	// PerRound sums the peers' protocol bytes, direct messages and stream writes sent, divided by
	// RoundsDecided: what one round costs the network (start-up included).
	PerRound    *PerRound `json:"per_round,omitempty"`
	FinalLoss   Num       `json:"final_loss"`
	FinalGap    Num       `json:"final_gap"`
	InitialLoss Num       `json:"initial_loss"`
	InitialGap  Num       `json:"initial_gap"`
	// SimComparable: no fault or network-level attack can make the run differ from `testnet sim` on
	// the same spec; SimMatch: the curve equals sim's, number for number (checked whenever the
	// Byzantine peers agree at learning level and no fault was injected).
	SimComparable bool  `json:"sim_comparable"`
	SimMatch      *bool `json:"sim_match,omitempty"`
	// TestAccuracy and TestLoss score the honest peers' final model on the held-out set TestData
	// (null when there is none or the harness could not get the model); TestSource says where the
	// scored model came from, or why there is no score.
	TestData     string `json:"test_data,omitempty"`
	TestAccuracy Num    `json:"test_accuracy"`
	TestLoss     Num    `json:"test_loss"`
	TestSource   string `json:"test_source,omitempty"`
	// Model is the final model written to the out folder (model.npy, model.json), when an honest
	// peer served it.
	Model *ModelReport `json:"model,omitempty"`
	// HonestPeakRSS is the largest resident set (VmHWM) of any honest peer process the harness saw;
	// Outsiders the --outsider attacks (outsider.go).
	HonestPeakRSS int64            `json:"honest_peak_rss_bytes,omitempty"`
	Outsiders     []OutsiderReport `json:"outsiders,omitempty"`
	// Timeline: the harness's samples of the honest peers (rounds every honest peer decided, largest
	// VmRSS and VmHWM) at every poll, kept when there were outsider attacks.
	Timeline []Sample     `json:"timeline,omitempty"`
	Peers    []PeerReport `json:"peers"`
	Events   []Event      `json:"events,omitempty"`

	simCheckable bool
}

func buildReport(o *Options, pl *plan, tr *tracker, snap *Snapshot, curve []status.Point, wall float64) *Report {
	cfg := Config{Spec: pl.genesis.Spec, Series: o.Series, Attacks: o.Attacks, LatencyMS: float64(o.Latency) / float64(time.Millisecond)}
	if id, err := pl.genesis.RunID(); err == nil {
		cfg.RunID = fmt.Sprintf("%x", id)
	}
	for _, k := range o.Kills {
		if k.Forever {
			cfg.Crashes = append(cfg.Crashes, fmt.Sprintf("%d@%d", k.Count, k.Round))
			continue
		}
		cfg.Kills = append(cfg.Kills, fmt.Sprintf("%d@%d", k.Count, k.Round))
	}
	for _, p := range o.Partitions {
		cfg.Partitions = append(cfg.Partitions, fmt.Sprintf("%v@%d+%v", p.Fraction, p.Round, p.Duration))
	}
	for _, x := range o.Outsiders {
		cfg.Outsiders = append(cfg.Outsiders, x.String())
	}
	for _, j := range o.Joins {
		cfg.Joins = append(cfg.Joins, fmt.Sprintf("%d@%d", j.Count, j.Round))
	}
	for _, l := range o.Leaves {
		cfg.Leaves = append(cfg.Leaves, fmt.Sprintf("%d@%d", l.Count, l.Round))
	}
	rep := &Report{Config: cfg, Outcome: snap.Phase, HonestAgree: true, RoundsDecided: snap.Round, WallSeconds: wall,
		FinalLoss: Num(math.NaN()), FinalGap: Num(math.NaN()), InitialLoss: Num(math.NaN()), InitialGap: Num(math.NaN()),
		TestAccuracy: Num(math.NaN()), TestLoss: Num(math.NaN()), TestData: pl.genesis.Spec.TestDataName(), Events: tr.events}
	rep.AttemptsFailed = tr.attemptsFailed(pl.procs)
	if wall > 0 {
		rep.RoundsPerSecond = float64(snap.Round) / wall
	}
	if len(curve) > 0 {
		rep.InitialLoss, rep.InitialGap = curve[0].Loss, curve[0].Gap
		rep.FinalLoss, rep.FinalGap = curve[len(curve)-1].Loss, curve[len(curve)-1].Gap
	}
	penalised, blamed, reported := penalties(pl.procs, tr.last)
	digestAt := map[uint64]string{} // honest digest per final round: peers behind are not in disagreement
	networkAttack := false
	for i, p := range pl.procs {
		v := snap.Peers[i]
		pr := PeerReport{Index: p.index, ID: p.id, Honest: p.honest, Attack: p.attack, FinalRound: v.Round,
			FinalDigest: v.Digest, BytesSent: v.BytesOut, BytesReceived: v.BytesIn, WireBytesSent: v.WireOut, WireBytesReceived: v.WireIn, Rejected: v.RejectedBy,
			MessagesSent: v.MsgsOut, WritesSent: v.WritesOut, Evidence: v.Evidence, BadProposals: v.BadProposals, Restarts: p.restarts}
		if pr.Rejected == nil {
			pr.Rejected = map[string]uint64{"total": v.Rejected}
		}
		if reported {
			c := penalised[p.index]
			pr.Penalised, pr.Blamed = &c, blamed[p.index]
		}
		pr.BlockedBy = blockedBy(pl.procs, tr.last, p.id)
		rep.Peers = append(rep.Peers, pr)
		networkAttack = networkAttack || hasNetworkPart(p.attack)
		if !p.honest {
			continue
		}
		if d, ok := digestAt[v.Round]; !ok {
			digestAt[v.Round] = v.Digest
		} else if v.Digest != d {
			rep.HonestAgree = false
		}
	}
	// Membership changes change n, hence the sample and the data split: not the simulator's run.
	faults := len(o.Kills) > 0 || len(o.Partitions) > 0 || o.Latency > 0 || len(o.Joins) > 0 || len(o.Leaves) > 0
	rep.SimComparable = pl.uniform && !networkAttack && !faults
	rep.simCheckable = pl.uniform && !faults
	if rep.RoundsDecided > 0 {
		pr := &PerRound{}
		for _, p := range rep.Peers {
			pr.Bytes += float64(p.BytesSent)
			pr.Messages += float64(p.MessagesSent)
			pr.Writes += float64(p.WritesSent)
		}
		r := float64(rep.RoundsDecided)
		pr.Bytes, pr.Messages, pr.Writes = pr.Bytes/r, pr.Messages/r, pr.Writes/r
		rep.PerRound = pr
	}
	return rep
}

// rows converts a peer's curve to curves.csv rows.
func rows(series string, seed uint64, curve []status.Point) []curves.Row {
	out := make([]curves.Row, 0, len(curve))
	for _, p := range curve {
		out = append(out, curves.Row{Series: series, Seed: seed, Epoch: float64(p.Epoch), Round: p.Round, Loss: float64(p.Loss), Gap: float64(p.Gap),
			TestLoss: float64(p.TestLoss), TestAccuracy: float64(p.TestAccuracy)})
	}
	return out
}

// SimRows runs `testnet sim`'s computation for spec and returns its curve as rows.
func SimRows(ctx context.Context, series string, spec sim.Spec) ([]curves.Row, error) {
	rows, _, err := simReplay(ctx, series, spec, true)
	return rows, err
}

// simReplay runs `testnet sim`'s computation for spec: its curve as rows (test columns included) and
// its final state. Without withFStar the gaps are NaN, as the peers report them when the genesis has
// no f* (Options.NoFStar), and f* is not computed.
func simReplay(ctx context.Context, series string, spec sim.Spec, withFStar bool) ([]curves.Row, *method.State, error) {
	var res *sim.Result
	if withFStar {
		many, err := sim.RunMany(ctx, []sim.Job{{Series: series, Spec: spec}}, 1, nil)
		if err != nil {
			return nil, nil, err
		}
		res = many[0].Result
	} else {
		cache := &sim.DataCache{}
		st, err := sim.Build(spec, cache)
		if err != nil {
			return nil, nil, err
		}
		r := sim.NewRunner(st, math.NaN())
		if r.Test, err = cache.LoadTest(&st.Spec, st.Dataset, st.Model); err != nil {
			return nil, nil, err
		}
		if res, err = r.Run(ctx, nil); err != nil {
			return nil, nil, err
		}
	}
	var out []curves.Row
	for _, p := range res.Points {
		out = append(out, curves.Row{Series: series, Seed: spec.Seed, Epoch: p.Epoch, Round: p.Round, Loss: p.Loss, Gap: p.Gap,
			TestLoss: p.TestLoss, TestAccuracy: p.TestAccuracy})
	}
	return out, res.Final, nil
}

// honestDigest is the state digest the honest peers hold at round (the first one reported; "" when no
// honest peer reports that round).
func honestDigest(rep *Report, round uint64) string {
	for _, p := range rep.Peers {
		if p.Honest && p.FinalRound == round && p.FinalDigest != "" {
			return p.FinalDigest
		}
	}
	return ""
}

// scoreFromReplay takes the held-out figures from the simulator's replay of the run when the replay
// ends on the honest peers' final state (same SHA-256 state digest, so the very same model): the
// report's test accuracy and loss, and the test columns of the network's curve, which is the
// replay's. It returns the curve, filled in or not.
func scoreFromReplay(rep *Report, rs, replay []curves.Row, final *method.State) []curves.Row {
	if final == nil || len(replay) == 0 {
		return rs
	}
	d := final.Digest()
	want := honestDigest(rep, final.Round)
	if want == "" || hex.EncodeToString(d[:]) != want {
		rep.TestSource = fmt.Sprintf("n/a: the simulator's replay of the run does not end on the honest peers' state at round %d, "+
			"and the peers do not serve their model", final.Round)
		return rs
	}
	last := replay[len(replay)-1]
	rep.TestAccuracy, rep.TestLoss = Num(last.TestAccuracy), Num(last.TestLoss)
	rep.TestSource = fmt.Sprintf("the simulator's replay of the run, whose final state has the honest peers' digest %.12s… at round %d", want, final.Round)
	if ok, _ := SameRows(rs, replay); ok {
		out := make([]curves.Row, len(rs))
		copy(out, rs)
		for i := range out {
			out[i].TestLoss, out[i].TestAccuracy = replay[i].TestLoss, replay[i].TestAccuracy
		}
		return out
	}
	return rs
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

func writeOutputs(ctx context.Context, o *Options, rep *Report, curve []status.Point) error {
	rs := rows(o.Series, rep.Config.Spec.Seed, curve)
	scored := rep.Model != nil && !math.IsNaN(float64(rep.TestAccuracy)) // model.go: the served final model
	switch {
	case scored:
	case rep.TestData == "":
		rep.TestSource = "no held-out set (the spec's test_data)"
	case rep.Outcome != "done":
		rep.TestSource = "n/a: the run did not finish"
	case !o.CheckSim:
		rep.TestSource = "not computed: --no-sim-check (the harness gets the model by replaying the run in the simulator)"
	case !rep.simCheckable:
		rep.TestSource = "n/a: faults or mixed attacks make the run impossible to replay in the simulator, and the peers do not serve their model"
	}
	if rep.simCheckable && rep.Outcome == "done" && o.CheckSim {
		if want, final, err := simReplay(ctx, o.Series, rep.Config.Spec, !o.NoFStar); err == nil {
			ok, where := SameRows(rs, want)
			rep.SimMatch = &ok
			if !ok && rep.SimComparable {
				o.Logger.Warn("the network's curve differs from sim's", "where", where)
			}
			if rep.TestData != "" && !scored {
				rs = scoreFromReplay(rep, rs, want, final)
			}
		} else {
			o.Logger.Warn("replaying the run in the simulator", "err", err)
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
	// The report is written whatever the plot does; report.md says what it shows.
	plot := PlotNote{}
	info, err := curves.Draw(filepath.Join(o.Out, "curves.png"), "byzpp testnet up: "+o.Series, rs, false)
	if err != nil {
		o.Logger.Warn("plotting curves.png", "err", err)
		plot.Missing = err.Error()
	} else {
		plot.Note = info.Note
	}
	if len(rs) == 0 {
		plot.Note = "no point was recorded (no honest peer answered with its curve)"
	}
	return WriteFileAtomic(filepath.Join(o.Out, "report.md"), []byte(Markdown(rep, plot)))
}

// penalties gathers, for each member index, how many honest peers penalise it (blame it for anything
// or list it as graylisted) and the honest peers' blame counts by kind. The peers already forgive
// lateness (node/blame.go gives late votes a grace of two heights), so every blame counts here.
// reported is false when no honest peer reports either.
func penalties(procs []*proc, last []*status.Status) (by map[int]int, blamed map[int]map[string]uint64, reported bool) {
	by, blamed = map[int]int{}, map[int]map[string]uint64{}
	index := map[string]int{}
	for _, p := range procs {
		index[p.id] = p.index
	}
	for i, p := range procs {
		s := last[i]
		if !p.honest || s == nil || (s.Blame == nil && s.Penalised == nil) {
			continue
		}
		reported = true
		seen := map[int]bool{}
		for m, kinds := range s.Blame {
			if m < 0 || m >= len(procs) {
				continue
			}
			for kind, c := range kinds {
				if c == 0 {
					continue
				}
				if blamed[m] == nil {
					blamed[m] = map[string]uint64{}
				}
				blamed[m][kind] += c
				seen[m] = true
			}
		}
		for _, id := range s.Penalised {
			if m, ok := index[id]; ok {
				seen[m] = true
			}
		}
		for m := range seen {
			by[m]++
		}
	}
	return by, blamed, reported
}

// blockedBy is how many honest peers list id among the peers they block, in their last status; nil
// when none says (peers that predate status.Status.Blocked).
func blockedBy(procs []*proc, last []*status.Status, id string) *int {
	n, said := 0, false
	for i, p := range procs {
		s := last[i]
		if !p.honest || s == nil || s.Blocked == nil {
			continue
		}
		said = true
		if slices.Contains(s.Blocked, id) {
			n++
		}
	}
	if !said {
		return nil
	}
	return &n
}
