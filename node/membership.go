package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/byzpp/byzpp/p2p"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/roster"
	"github.com/byzpp/byzpp/node/storage"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Membership of open runs. A Node runs one epoch: a stretch of rounds with one member list (see
// package roster). Membership operations reach members as signed requests (protocol member/1), ride
// in a leader's proposal, and are decided with it; every honest peer checks them the same way
// (roster.Chain.CheckOps) plus, for removals, against its own view of who went silent. A decided
// change takes effect roster.ActivationDelay rounds later: the Node stops there (Run returns
// ErrEpochOver) and RunPeer starts the next epoch's Node on the same host and state.

// protoMember carries join and leave requests to members.
const protoMember = "member/1"

// membershipFile holds the proofs of the decided changes (checked file, see persist.go).
const membershipFile = "membership.bin"

// maxPendingOps bounds the membership requests a member keeps for its proposals.
const maxPendingOps = 256

// Sentinel errors of membership.
var (
	// ErrEpochOver: a decided membership change takes effect at the next round; Run returns it and
	// RunPeer continues with the next epoch.
	ErrEpochOver = errors.New("node: the member list changes at this round")
	// ErrNotMember: this peer is not a member at the round it would start from.
	ErrNotMember = errors.New("node: not a member at this round")
	// ErrClosedRun: membership requests to a run whose genesis lists its members once and for all.
	ErrClosedRun = errors.New("node: closed run: membership is fixed by the genesis")
	// ErrSilenceDisputed: a proposal removes a member this peer heard from recently. Refused, but
	// its leader is not named for it: who went silent is each peer's own view (a member cut off from
	// the leader only, or this peer itself restarting), not a fault anyone can prove.
	ErrSilenceDisputed = errors.New("node: a removal for silence of a member this peer heard from")
)

// NotMemberError says which round and member history New found this peer absent from.
type NotMemberError struct {
	Peer  p2p.PeerID
	Round uint64
	Chain *roster.Chain
}

func (e *NotMemberError) Error() string {
	return fmt.Sprintf("node: peer %s is not a member at round %d", e.Peer, e.Round)
}

func (e *NotMemberError) Unwrap() error { return ErrNotMember }

type opIn struct{ op wire.MemberOp }

// useEpoch makes the Node see the genesis with the epoch's members: member indices, keys, the data
// split and sample size for that many members.
func (nd *Node) useEpoch(e roster.Epoch, spec sim.Spec) error {
	if nd.setup != nil && slices.Equal(nd.gen.Members, e.Members) {
		return nil
	}
	g := *nd.genesis
	g.Members = slices.Clone(e.Members)
	spec.Members = len(e.Members)
	if spec.Byzantine >= spec.Members {
		spec.Byzantine = (spec.Members - 1) / 3 // what the aggregators tolerate in this epoch
	}
	g.Spec = spec
	g.Byzantine = nil
	for _, b := range nd.genesis.Byzantine {
		if i := e.Index(nd.genesis.Members[b]); i >= 0 {
			g.Byzantine = append(g.Byzantine, i)
		}
	}
	setup, err := sim.Build(spec, nd.cache)
	if err != nil {
		return fmt.Errorf("node: building the training setup for %d members: %w", spec.Members, err)
	}
	keys, ids, err := roster.Keys(e.Members)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	me, err := p2p.PeerIDFromPrivateKey(nd.cfg.Key)
	if err != nil {
		return fmt.Errorf("%w: key: %w", ErrConfig, err)
	}
	nd.gen, nd.setup, nd.keys, nd.peers, nd.n = &g, setup, keys, ids, len(e.Members)
	nd.self = e.Index(me.String())
	nd.lim = wire.LimitsFor(uint32(setup.Model.Dim()), uint32(max(len(e.Members), nd.genesis.Capacity())))
	nd.acct = nd.newBook()
	return nil
}

// newStore returns the store of a state directory.
// loadChain reads the member history from the state directory and checks it from the genesis. A
// history that fails its checks is quarantined and the peer starts from the genesis members: state
// sync brings the history back with the state.
func loadChain(s *storage.Store, g *genesis.Genesis, run wire.RunID, log *slog.Logger) (*roster.Chain, error) {
	chain := roster.New(run, g.Members, g.Capacity())
	if s == nil {
		return chain, nil
	}
	path := filepath.Join(s.Dir(), membershipFile)
	payload, err := storage.ReadChecked(path)
	if err == nil && payload != nil {
		var proofs []wire.ChangeProof
		if proofs, err = roster.DecodeProofs(payload); err == nil {
			_, err = chain.Extend(proofs)
		}
	}
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, roster.ErrChain) && !errors.Is(err, wire.ErrMalformed) {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		log.Error("member history is corrupt: not loaded; it comes back with the next state fetched", "err", err)
		_ = os.Rename(path, path+".corrupt")
		return roster.New(run, g.Members, g.Capacity()), nil
	}
	return chain, nil
}

// saveChain persists the member history (atomically, checksummed).
func (nd *Node) saveChain() error {
	if nd.store == nil {
		return nil
	}
	payload, err := roster.EncodeProofs(nd.chain.Proofs())
	if err != nil {
		return err
	}
	return storage.WriteChecked(filepath.Join(nd.store.Dir(), membershipFile), payload)
}

// serveMember takes a signed join or leave request from the peer concerned and queues it for the
// proposals this member leads.
func (nd *Node) serveMember(ctx context.Context, from p2p.PeerID, req []byte) ([]byte, error) {
	var r wire.MemberRequest
	if err := wire.Unmarshal(req, &r, nd.lim); err != nil {
		return nil, err
	}
	if r.Run != nd.run {
		return nil, errNotMine
	}
	if !nd.genesis.Open {
		return nil, ErrClosedRun
	}
	id, err := p2p.PeerIDFromBytes(r.Op.Peer)
	if err != nil || id != from {
		return nil, fmt.Errorf("%w: a request must come from the peer it concerns", roster.ErrOp)
	}
	if err := roster.VerifySignature(nd.run, &r.Op, id); err != nil {
		return nil, err
	}
	select {
	case nd.in <- &opIn{op: r.Op}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return []byte("queued"), nil
}

// addOp keeps a checked request until a proposal carries it.
func (nd *Node) addOp(o wire.MemberOp) {
	if nd.ops == nil {
		nd.ops = map[[32]byte]wire.MemberOp{}
	}
	if len(nd.ops) < maxPendingOps {
		nd.ops[o.OpKey()] = o
		nd.log.Info("membership request queued", "kind", o.Kind, "height", o.Height)
	}
}

// silentFor is how many heights before h a member of this epoch was last heard from — any signed
// vote, round message or proposal, as blame.go records them — counting from this Node's first round
// when never. A peer that is not a member of this epoch is not silent.
func (nd *Node) silentFor(member string, h uint64) uint64 {
	i, ok := slices.BinarySearch(nd.gen.Members, member)
	if !ok {
		return 0
	}
	above := nd.acct.HeardAbove(i) // 1 + the last height heard from, 0 if none
	last := nd.loop.firstRound
	if above > 0 {
		last = max(last, above-1)
	}
	if last >= h {
		return 0
	}
	return h - last
}

// proposeOps chooses the membership operations of a proposal at height h: queued requests that are
// still valid, then removals of members silent for SilentRounds.
func (nd *Node) proposeOps(h uint64) []wire.MemberOp {
	if !nd.genesis.Open {
		return nil
	}
	var out []wire.MemberOp
	keys := make([][32]byte, 0, len(nd.ops))
	for k := range nd.ops {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	for _, k := range keys {
		if len(out) == wire.MaxOps {
			break
		}
		o := nd.ops[k]
		if _, err := nd.chain.CheckOps(h, []wire.MemberOp{o}); err != nil {
			delete(nd.ops, k) // applied already, expired, or never valid
			continue
		}
		if _, err := nd.chain.CheckOps(h, append(slices.Clone(out), o)); err == nil {
			out = append(out, o)
		}
	}
	if s := uint64(nd.genesis.SilentRounds); s > 0 {
		me := nd.gen.Members[nd.self]
		for _, m := range nd.chain.Latest().Members {
			if len(out) == wire.MaxOps || m == me || nd.chain.At(h).Index(m) < 0 || nd.silentFor(m, h) < s {
				continue
			}
			o, err := roster.RemoveOp(m, h)
			if err != nil {
				continue
			}
			if _, err := nd.chain.CheckOps(h, append(slices.Clone(out), o)); err == nil {
				nd.log.Info("proposing to remove a silent member", "peer", m, "silent_rounds", nd.silentFor(m, h))
				out = append(out, o)
			}
		}
	}
	return out
}

// checkProposalOps is a validator's check of a proposal's membership operations: what the decided
// history allows, and for each removal that this peer too has not heard from the member for at least
// half of SilentRounds (a removal only needs the quorum to agree the member is gone; the slack absorbs
// the peers' different views of the last heights).
func (nd *Node) checkProposalOps(p *wire.Proposal) error {
	if len(p.Ops) == 0 {
		return nil
	}
	if !nd.genesis.Open {
		return ErrClosedRun
	}
	if _, err := nd.chain.CheckOps(p.Height, p.Ops); err != nil {
		return err
	}
	s := uint64(nd.genesis.SilentRounds)
	for _, o := range p.Ops {
		if o.Kind != wire.OpRemove {
			continue
		}
		id, _ := p2p.PeerIDFromBytes(o.Peer)
		if s == 0 {
			return fmt.Errorf("%w: this run removes nobody for silence", roster.ErrOp)
		}
		if got := nd.silentFor(id.String(), p.Height); got < (s+1)/2 {
			return fmt.Errorf("%w: %w: %s was heard from %d rounds ago", roster.ErrOp, ErrSilenceDisputed, id, got)
		}
	}
	return nil
}

// applyChange records a decided membership change: the proof goes into the history (persisted
// before the state that depends on it) and the Node will stop where the change takes effect.
func (nd *Node) applyChange(p *wire.Proposal, cand wire.Certificate) {
	cert, err := nd.serving.Certify(cand)
	if err != nil {
		// An honest decision always certifies (lazycert.go); keep what we counted.
		nd.log.Error("certifying a membership change", "height", p.Height, "err", err)
		cert = cand
	}
	if err := nd.chain.Append(wire.ChangeProof{Proposal: *p, Cert: cert}, false); err != nil {
		nd.log.Error("recording a decided membership change", "height", p.Height, "err", err)
		return
	}
	if err := nd.saveChain(); err != nil {
		nd.log.Error("persisting the member history", "err", err)
	}
	nd.noteEpochEnd()
	for _, o := range p.Ops {
		delete(nd.ops, o.OpKey())
		id, _ := p2p.PeerIDFromBytes(o.Peer)
		nd.log.Info("membership change decided", "kind", o.Kind, "peer", id, "height", p.Height,
			"effective_round", p.Height+roster.ActivationDelay, "members", len(nd.chain.Latest().Members))
	}
}

// noteEpochEnd sets where this Node stops: the start of the next epoch after the current round.
func (nd *Node) noteEpochEnd() {
	next, ok := nd.chain.Next(nd.eng.Round())
	if end := nd.epochEnd.Load(); ok && (end == 0 || next.Start < end) {
		nd.epochEnd.Store(next.Start)
	}
}

// beyondEpoch reports whether height h belongs to a later epoch than this Node's: its messages are
// for the next Node, checked against the next member list.
func (nd *Node) beyondEpoch(h uint64) bool {
	end := nd.epochEnd.Load()
	return end != 0 && h >= end
}

// otherEpoch reports whether height h may be outside this Node's epoch (in an open run, before the
// round this Node started at, or from the next epoch on): a message for h may be signed with another
// member list's indices and keys. Safe from any goroutine (firstRound is set before Run).
func (nd *Node) otherEpoch(h uint64) bool {
	return nd.genesis.Open && h < nd.loop.firstRound || nd.beyondEpoch(h)
}

// mayBeUnknownEpoch reports whether a message for height h may be signed with the member list of an
// epoch this Node has not learned of: in an open run, a change decided at a height this Node has not
// decided yet takes effect roster.ActivationDelay heights later. Safe from any goroutine.
func (nd *Node) mayBeUnknownEpoch(h uint64) bool {
	return nd.genesis.Open && h >= nd.current.Load()+roster.ActivationDelay
}

// mayBeBehindAChange reports whether this Node may be checking with an outdated member list: a
// change is pending (members already in the next epoch send relay frames sized and keyed for its
// list), or, in an open run, a member was heard ActivationDelay heights past this Node's (a change it
// has not learned of may be in force there; a restarted member finds itself so). A relay frame's
// per-member MACs are checked before its height is known, so a failed one is not blamed then.
// Safe from any goroutine.
func (nd *Node) mayBeBehindAChange() bool {
	return nd.epochEnd.Load() != 0 || nd.mayBeUnknownEpoch(nd.heard.Highest())
}

// memberListCheck returns err, the failure of a check that depends on the member list (signer index,
// signature, sample, leader) of a message for height h, or errOtherEpoch when that member list may not
// be the message's: then the check says nothing about the sender, who must not be blamed for it.
func (nd *Node) memberListCheck(h uint64, err error) error {
	if nd.otherEpoch(h) || nd.mayBeUnknownEpoch(h) {
		return fmt.Errorf("%w: height %d: %w", errOtherEpoch, h, err)
	}
	return err
}

// learnChanges checks and adopts the membership changes a verified state response carries.
func (nd *Node) learnChanges(s *wire.StateResponse) {
	if len(s.Changes) <= nd.chain.Len() {
		return
	}
	added, err := nd.chain.Extend(s.Changes)
	if err != nil {
		nd.log.Warn("member history from a peer does not check out", "err", err)
	}
	if added > 0 {
		if err := nd.saveChain(); err != nil {
			nd.log.Error("persisting the member history", "err", err)
		}
		nd.noteEpochEnd()
	}
}

// handoff returns the last decided state with its certificate checked, for the next epoch's Node.
func (nd *Node) handoff() *wire.StateResponse {
	raw, err := nd.serving.Latest()
	if err != nil || raw == nil {
		return nil
	}
	var s wire.StateResponse
	if wire.Unmarshal(raw, &s, nd.lim) != nil {
		return nil
	}
	return &s
}
