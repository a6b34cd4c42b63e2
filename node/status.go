package node

import (
	"encoding/hex"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/status"
)

// Status is a snapshot of a running peer, for /status, metrics and tests: package status documents
// its fields and owns its JSON.
type Status = status.Status

// Status returns the latest snapshot (safe from any goroutine).
func (nd *Node) Status() Status {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	s := nd.status
	s.Curve = slices.Clone(s.Curve)
	s.Blame = nd.acct.Snapshot()
	s.RejectedBy = maps.Clone(s.RejectedBy)
	s.Peers = len(nd.cfg.Host.Peers())
	s.StatesRejected = nd.statesRejected.Load()
	return s
}

// observerStatus is the status of a volunteer that is not a member yet (Peer): no member index, no
// scores.
func observerStatus() Status {
	nan := status.Num(math.NaN())
	return Status{Member: -1, Step: "observing", Loss: nan, Gap: nan, TestLoss: nan, TestAccuracy: nan}
}

// State returns a copy of the agreed state; call it only when Run is not running.
func (nd *Node) State() *method.State { return nd.eng.State().Clone() }

// publishStatus refreshes the snapshot; called by the loop after every event.
func (nd *Node) publishStatus() {
	cs := nd.cm.Status()
	st := nd.eng.State()
	if nd.loop.digestOf != st {
		// Encoding the digest is most of this function's cost, and it runs after every event.
		d := nd.eng.Digest()
		nd.loop.digestOf, nd.loop.digestHex = st, hex.EncodeToString(d[:])
	}
	var rps float64
	if el := time.Since(nd.loop.started).Seconds(); el > 0 {
		rps = float64(nd.loop.decided) / el
	}
	s := Status{
		Member: nd.self, Round: st.Round, Attempt: cs.Round, Step: cs.Step.String(),
		Leader: method.Leader(nd.gen.Spec.Seed, st.Round, cs.Round, nd.n), Digest: nd.loop.digestHex,
		RoundsPerSec: status.Num(rps), Decided: nd.loop.decided, Evidence: nd.loop.evidence, BadProposals: nd.loop.badProps,
		AttemptsFailed: nd.loop.attemptsFailed,
	}
	s.TestLoss, s.TestAccuracy = status.Num(math.NaN()), status.Num(math.NaN())
	if c := nd.loop.curve; len(c) > 0 {
		last := curvePoint(c[len(c)-1])
		s.Loss, s.Gap, s.TestLoss, s.TestAccuracy = last.Loss, last.Gap, last.TestLoss, last.TestAccuracy
	}
	if nd.roundT != nil {
		s.Rejected = nd.roundT.Rejects().Total() + nd.consT.Rejects().Total()
		s.Ignored = nd.roundT.Ignores().Total() + nd.consT.Ignores().Total()
	}
	tr := nd.cfg.Host.Traffic()
	s.GossipBytesIn, s.GossipBytesOut = tr.GossipIn, tr.GossipOut
	s.PayloadBytesIn = tr.GossipIn + tr.DirectIn + tr.StreamIn
	s.PayloadBytesOut = tr.GossipOut + tr.DirectOut + tr.StreamOut
	s.WireBytesIn, s.WireBytesOut = tr.WireIn, tr.WireOut
	s.DirectMsgsIn, s.DirectMsgsOut, s.DirectWritesOut = tr.DirectMsgsIn, tr.DirectMsgsOut, tr.DirectWritesOut
	s.SigsVerified = nd.verified.Load()
	s.RelayBundlesIn, s.RelayMACFailures = nd.bundlesIn.Load(), nd.macFailures.Load()
	rs := nd.loop.relay.Stats
	s.RelayBundlesOut, s.RelayVotesOut, s.RelayFallbacks = rs.BundlesOut, rs.VotesOut, rs.Fallbacks
	s.RelayHandoversOut, s.RelayRoundBundlesOut = rs.HandoversOut, rs.RoundBundlesOut
	s.Speculated, s.SpeculationMisses = rs.Speculated, rs.SpeculationMisses
	s.SpeculationResends = rs.SpeculationResends
	nd.mu.Lock()
	s.RejectedBy = nd.status.RejectedBy
	if s.Rejected != nd.status.Rejected && nd.roundT != nil {
		// Copy the per-reason counts only when the total moved: this runs after every event.
		s.RejectedBy = rejectedBy(nd.roundT.Rejects().Snapshot(), nd.consT.Rejects().Snapshot())
	}
	if len(nd.status.Curve) != len(nd.loop.curve) {
		nd.status.Curve = curvePoints(nd.loop.curve)
	}
	s.Curve = nd.status.Curve
	nd.status = s
	nd.mu.Unlock()
}

// rejectedBy adds up per-reason counts of several topics (nil when there are none).
func rejectedBy(counts ...map[string]uint64) map[string]uint64 {
	var out map[string]uint64
	for _, c := range counts {
		for reason, n := range c {
			if out == nil {
				out = map[string]uint64{}
			}
			out[reason] += n
		}
	}
	return out
}

// curvePoints converts the recorded curve to the status' points.
func curvePoints(c []sim.Point) []status.Point {
	out := make([]status.Point, len(c))
	for i, p := range c {
		out[i] = curvePoint(p)
	}
	return out
}

func curvePoint(p sim.Point) status.Point {
	return status.Point{Round: p.Round, Epoch: status.Num(p.Epoch), Loss: status.Num(p.Loss), Gap: status.Num(p.Gap),
		TestLoss: status.Num(p.TestLoss), TestAccuracy: status.Num(p.TestAccuracy)}
}
