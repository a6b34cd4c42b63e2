package node

import (
	"errors"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/node/accountability"
	"github.com/byzpp/byzpp/node/liveness"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Who is named for what is package accountability's (nd.acct): this file turns what the node decodes
// into what the Book judges.

// ErrCensored is the reason an honest validator refuses a proposal that omits a message held past the
// collect window (accountability.ErrCensored).
var ErrCensored = accountability.ErrCensored

// staleGrace: a signed message at most this many heights below the current one is lateness.
const staleGrace = accountability.StaleGrace

// newBook returns the blame book of the epoch nd now runs (useEpoch).
func (nd *Node) newBook() *accountability.Book {
	return accountability.New(accountability.Config{Members: nd.n, Self: nd.self,
		FutureHeights: maxFutureHeights, Current: nd.current.Load})
}

// attribute names the signer of a gossip message that failed a check made after its signature was
// verified (so the signer really sent it): stale, future, unsampled, non-leader, wrong dimension or a
// member field that differs from the signer. Malformed or badly signed messages name nobody: anyone
// could have made them, and gossip scoring already penalises the peer that forwarded them.
func (nd *Node) attribute(data []byte, err error) {
	var kind string
	switch {
	case errors.Is(err, errStale):
		kind = accountability.Stale
	case errors.Is(err, errFuture):
		kind = accountability.Future
	case errors.Is(err, errSampled), errors.Is(err, errLeader), errors.Is(err, errDim), errors.Is(err, errSender):
		kind = accountability.Invalid
	default:
		return
	}
	var env wire.Envelope
	if wire.Unmarshal(data, &env, nd.lim) != nil || int(env.Signer) >= nd.n {
		return
	}
	signer := int(env.Signer)
	if kind != accountability.Stale {
		nd.acct.Blame(signer, kind)
		return
	}
	cur := nd.current.Load()
	m, err := env.Open(nd.lim)
	if err != nil {
		nd.acct.Blame(signer, kind) // stale by the check that just ran; its height is unreadable
		return
	}
	switch b := m.(type) {
	case *wire.Vote:
		if b.Run == nd.run {
			nd.acct.ClearSilent(signer, b.Height)
			// The second of two votes often arrives late: run the double-vote check on it too.
			nd.checkDoubleVote(consensus.Vote{Type: consensus.VoteType(b.Type), Height: b.Height, Round: b.Round,
				Value: consensus.ValueID(b.Value), Voter: signer})
		}
		nd.acct.NoteStale(signer, b.Height, cur)
	case *wire.Proposal:
		if b.Run == nd.run {
			nd.acct.NoteAlive(signer, b.Height)
		}
		nd.acct.NoteStale(signer, b.Height, cur)
	case *wire.RoundMsg:
		if b.Run == nd.run {
			nd.acct.NoteAlive(signer, b.Round)
		}
		nd.acct.NoteStale(signer, b.Round, cur)
	default:
		nd.acct.Blame(signer, kind)
	}
}

// checkDoubleVote records v in the Book's record of recent votes and reports whether its voter signed
// a different value for the same slot (the voter is then marked faulty). Safe from any goroutine.
func (nd *Node) checkDoubleVote(v consensus.Vote) bool {
	if !nd.acct.DoubleVote(v) {
		return false
	}
	nd.log.Warn("double vote", "voter", v.Voter, "height", v.Height, "attempt", v.Round, "type", v.Type)
	return true
}

// checkCensorship refuses a fresh proposal of the current height that omits a sampled member's message
// this peer has held past the collect window and its grace (accountability.Omitted). A held message
// is excused if its signature fails — stored unchecked from its author (lazyround.go), an honest leader
// leaves it out — or its author is known faulty. (A leader that learnt of an equivocation before this
// peer did can still be suspected once: see the package doc.)
func (nd *Node) checkCensorship(cp consensus.Proposal, content *wire.Proposal) error {
	if content == nil {
		return nil
	}
	p := accountability.Proposal{Height: cp.Height, Attempt: cp.Round, Proposer: cp.Proposer, POLRound: int(cp.POLRound),
		Included: make([]int, len(content.Included))}
	for i, in := range content.Included {
		p.Included[i] = int(in.Member)
	}
	stored := nd.eng.Held(cp.Height)
	held := make([]accountability.Held, len(stored))
	for i, s := range stored {
		held[i] = accountability.Held{Member: s.Msg.Member, Arrived: s.Arrived}
	}
	excused := func(i int) bool {
		s := stored[i]
		return !nd.checkedRound(s) || nd.acct.Faulty(s.Msg.Member)
	}
	collect := uint64(nd.gen.Timeouts.CollectTicks)
	// Proof that the leader had the message, or a pattern no lagging leader shows (accountability's
	// handover.go says why a first omission is not proof).
	now := nd.loop.ticks
	handedOver := func(i int) bool {
		return nd.loop.handovers.HandedBefore(cp.Proposer, stored[i].Digest, cp.Round, now, collect) ||
			nd.loop.handovers.Omitted(cp.Proposer, cp.Height, liveness.DistrustHeights) >= accountability.OmissionsToName
	}
	i, err := nd.acct.CheckCensorship(p, held, now, collect, excused, handedOver)
	if errors.Is(err, accountability.ErrOmitted) && nd.loop.handovers.Hand(cp.Proposer, stored[i].Digest, cp.Height, cp.Round, now) {
		nd.sendTo(cp.Proposer, stored[i].Raw) // outbox.go: the leader includes it next time
	}
	return err
}

// pruneHanded forgets messages handed over for heights below k.
func (nd *Node) pruneHanded(k uint64) { nd.loop.handovers.Prune(k) }
