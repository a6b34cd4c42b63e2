package up

import (
	"math"
	"time"

	"github.com/byzpp/byzpp/node/status"
)

// Event is something the harness did to the network (a fault) or saw happen to it.
type Event struct {
	Seconds float64 `json:"seconds"` // since the peers were started
	Round   uint64  `json:"round"`   // the most advanced honest peer's round at the time
	What    string  `json:"what"`
	Peers   []int   `json:"peers,omitempty"`
}

// PeerView is one peer as the last poll saw it.
type PeerView struct {
	Index        int               `json:"index"`
	ID           string            `json:"id"`
	Honest       bool              `json:"honest"`
	Attack       string            `json:"attack,omitempty"`
	State        string            `json:"state"` // up, silent (not answering), down, frozen, cut (partitioned off), waiting (volunteer not started), left
	Round        uint64            `json:"round"`
	Attempt      uint32            `json:"attempt"`
	Leader       int               `json:"leader"`
	Loss         Num               `json:"loss"`
	Gap          Num               `json:"gap"`
	Digest       string            `json:"digest"`
	Rejected     uint64            `json:"rejected"`
	RejectedBy   map[string]uint64 `json:"rejected_by,omitempty"`
	Evidence     uint64            `json:"evidence"`
	BadProposals uint64            `json:"bad_proposals"`
	BytesIn      int64             `json:"bytes_in"` // protocol messages (see status.Status.PayloadBytes)
	BytesOut     int64             `json:"bytes_out"`
	WireIn       int64             `json:"wire_bytes_in"`
	WireOut      int64             `json:"wire_bytes_out"`
	MsgsOut      int64             `json:"messages_out"` // direct protocol messages sent
	WritesOut    int64             `json:"writes_out"`   // stream writes that carried them
	Restarts     int               `json:"restarts"`
}

// Snapshot is the whole testnet at one poll: what the live view draws and the state file holds.
type Snapshot struct {
	Phase   string  `json:"phase"` // running, done, interrupted, timed-out, failed
	Seconds float64 `json:"seconds"`
	Target  uint64  `json:"target"`
	// Round is the slowest honest peer's round (rounds every honest peer has decided); Leader and
	// Attempt are the most advanced honest peer's current ones.
	Round           uint64     `json:"round"`
	Leader          int        `json:"leader"`
	Attempt         uint32     `json:"attempt"`
	Loss            Num        `json:"loss"`
	Gap             Num        `json:"gap"`
	RoundsPerSecond float64    `json:"rounds_per_second"`
	AttemptsFailed  uint64     `json:"attempts_failed"`
	Peers           []PeerView `json:"peers"`
	Events          []Event    `json:"events,omitempty"`
}

// tracker accumulates what the polls see: the last status of each peer (kept while it is down).
type tracker struct {
	start    time.Time
	target   uint64
	last     []*status.Status
	answered []bool
	events   []Event
}

func newTracker(n int, target uint64) *tracker {
	return &tracker{start: time.Now(), target: target, last: make([]*status.Status, n), answered: make([]bool, n)}
}

func (t *tracker) update(procs []*proc, polled []*status.Status) {
	for i, s := range polled {
		t.answered[i] = s != nil
		if s == nil {
			continue
		}
		t.last[i] = s
	}
}

// attemptsFailed is the number of consensus attempts that ended without a decision: the largest
// count any honest peer reports (each counts the attempts abandoned in the heights it decided since
// it started, so a restarted peer reports fewer).
func (t *tracker) attemptsFailed(procs []*proc) uint64 {
	var n uint64
	for i, s := range t.last {
		if s != nil && procs[i].honest {
			n = max(n, s.AttemptsFailed)
		}
	}
	return n
}

func (t *tracker) event(procs []*proc, what string, peers []int) {
	_, hi := t.honestRounds(procs)
	t.events = append(t.events, Event{Seconds: time.Since(t.start).Seconds(), Round: hi, What: what, Peers: peers})
}

// honestRounds returns the slowest and the most advanced honest peer's round.
func (t *tracker) honestRounds(procs []*proc) (lo, hi uint64) {
	lo = math.MaxUint64
	for i, p := range procs {
		if !p.counted() {
			continue
		}
		var r uint64
		if s := t.last[i]; s != nil {
			r = s.Round
		}
		lo, hi = min(lo, r), max(hi, r)
	}
	if lo == math.MaxUint64 {
		lo = 0
	}
	return lo, hi
}

func (t *tracker) snapshot(procs []*proc, phase string) *Snapshot {
	el := time.Since(t.start).Seconds()
	lo, hi := t.honestRounds(procs)
	snap := &Snapshot{Phase: phase, Seconds: el, Target: t.target, Round: lo, Leader: -1,
		Loss: Num(math.NaN()), Gap: Num(math.NaN()), Events: t.events}
	if el > 0 {
		snap.RoundsPerSecond = float64(lo) / el
	}
	snap.AttemptsFailed = t.attemptsFailed(procs)
	for i, p := range procs {
		v := PeerView{Index: p.index, ID: p.id, Honest: p.honest, Attack: p.attack, Restarts: p.restarts,
			Leader: -1, Loss: Num(math.NaN()), Gap: Num(math.NaN())}
		switch {
		case p.volunteer && p.cmd == nil:
			v.State = "waiting" // a volunteer not started yet
		case p.leaving && !p.running():
			v.State = "left"
		case p.frozen:
			v.State = "frozen"
		case p.cut && p.running():
			v.State = "cut"
		case !p.running():
			v.State = "down"
		case !t.answered[i]:
			v.State = "silent"
		default:
			v.State = "up"
		}
		if s := t.last[i]; s != nil {
			v.Round, v.Attempt, v.Leader, v.Loss, v.Gap, v.Digest = s.Round, s.Attempt, s.Leader, s.Loss, s.Gap, s.Digest
			v.Rejected, v.RejectedBy, v.Evidence, v.BadProposals = s.Rejected, s.RejectedBy, s.Evidence, s.BadProposals
			v.BytesIn, v.BytesOut = s.PayloadBytes()
			v.WireIn, v.WireOut = s.WireBytesIn, s.WireBytesOut
			v.MsgsOut, v.WritesOut = s.DirectMsgsOut, s.DirectWritesOut
			if p.honest && s.Round == hi && snap.Leader < 0 {
				snap.Leader, snap.Attempt, snap.Loss, snap.Gap = s.Leader, s.Attempt, s.Loss, s.Gap
			}
		}
		snap.Peers = append(snap.Peers, v)
	}
	return snap
}
