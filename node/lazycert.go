package node

import (
	"fmt"
	"slices"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Certificates. Every decided state is persisted and served with the certificate of its decision: a
// quorum of correctly signed precommits. Votes that arrive over their signer's own channel (or relayed
// with its MAC) are counted before their signature is checked (direct.go), so a Byzantine member can
// have a badly signed precommit counted towards a decision. The decision is still safe — that member
// did send that precommit, and consensus never relies on a faulty member's vote — but it could not be
// proven to anyone: a peer that applied it could neither serve the state nor restore it after a
// restart (TestDecisionsAreCertified). So a decision is applied only with a certificate in hand:
// decisionCertificate checks signatures (already-checked precommits first, then as few unchecked
// ones as the quorum needs), drops the bad ones and names their signers, and without a quorum of good
// ones the decision waits for more precommits (onVoteIn retries it) or for a certified state. What is
// persisted and served is that candidate certificate; its signatures are checked against the members
// of its height when it is first served or restored (statesync.Server's Latest and Certify), not at
// every decision.

// decisionCertificate assembles a certificate of a quorum of correctly signed precommits for the
// decided value from the stored votes, in member order, checking signatures not checked yet — in one
// batch (wire.VerifyBatch), as few as the quorum still needs.
func (nd *Node) decisionCertificate(d consensus.Decision) (wire.Certificate, error) {
	q := wire.Quorum(nd.n)
	key := func(voter int) voteKey {
		return voteKey{voter: voter, vote: consensus.Vote{Type: consensus.Precommit, Height: d.Height, Round: d.Round, Value: d.Value, Voter: voter}}
	}
	// Already-checked precommits (and our own) cost nothing; take them first.
	var good, unchecked []int
	for voter := range nd.n {
		if _, unverified, ok := nd.loop.votes.Get(key(voter).vote); ok {
			if unverified {
				unchecked = append(unchecked, voter)
			} else if len(good) < q {
				good = append(good, voter)
			}
		}
	}
	for len(good) < q && len(unchecked) > 0 {
		take := unchecked[:min(q-len(good), len(unchecked))]
		unchecked = unchecked[len(take):]
		keys := make([]voteKey, len(take))
		for i, voter := range take {
			keys[i] = key(voter)
		}
		for i, ok := range nd.checkVotes(keys) {
			if ok {
				good = append(good, take[i])
			}
		}
	}
	if len(good) < q {
		return wire.Certificate{}, fmt.Errorf("%w: %d correctly signed precommits, need %d", wire.ErrQuorum, len(good), q)
	}
	slices.Sort(good)
	envs := make([]wire.Envelope, 0, q)
	for _, voter := range good {
		var env wire.Envelope
		raw, _, _ := nd.loop.votes.Get(key(voter).vote)
		if err := wire.Unmarshal(raw, &env, nd.lim); err != nil {
			return wire.Certificate{}, err
		}
		envs = append(envs, env)
	}
	return wire.AssembleCertificate(envs, nd.lim)
}

// checkVotes checks the signatures of stored, unchecked votes in one batch and reports which hold. A
// vote whose signature fails is handled as checkedVote handles one: forgotten, its signer marked
// faulty and the vote retracted from consensus.
func (nd *Node) checkVotes(keys []voteKey) []bool {
	envs := make([]wire.Envelope, 0, len(keys))
	pubs := make([]p2p.PubKey, 0, len(keys))
	raws := make([][]byte, len(keys))
	idx := make([]int, 0, len(keys))
	ok := make([]bool, len(keys))
	for i, k := range keys {
		raw, _, held := nd.loop.votes.Get(k.vote)
		var env wire.Envelope
		if !held || wire.Unmarshal(raw, &env, nd.lim) != nil {
			continue
		}
		raws[i] = raw
		envs, pubs, idx = append(envs, env), append(pubs, nd.keys[k.voter]), append(idx, i)
	}
	nd.verified.Add(int64(len(envs)))
	valid := wire.VerifyEnvelopes(envs, pubs)
	for j, i := range idx {
		ok[i] = valid[j]
	}
	for i, k := range keys {
		if ok[i] {
			nd.loop.votes.MarkVerified(k.vote)
			nd.sigs.Add(envelopeDigest(raws[i]), k.vote.Height, true)
			continue
		}
		if raws[i] == nil {
			continue
		}
		nd.log.Warn("vote with a bad signature from its own signer", "voter", k.voter, "height", k.vote.Height)
		nd.loop.votes.Delete(k.vote)
		nd.acct.MarkFaulty(k.voter)
		if nd.cm != nil {
			_ = nd.cm.Retract(k.vote) // it must not stand behind a decision nobody can certify
		}
	}
	return ok
}
