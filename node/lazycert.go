package node

import (
	"fmt"

	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p/wire"
)

// Lazy certificates. Every decided state is persisted and served with the certificate of its decision:
// a quorum of signed precommits. Checking those signatures at every decision cost each peer a quorum
// of Ed25519 verifications per round — the largest single item of a peer's CPU on a 20-peer loopback
// testnet (15%), for certificates that are read only when a laggard asks for the state or the peer
// restarts. So a decision is stored with a candidate certificate: every precommit for the decided
// value this peer holds, signatures unchecked (they came over their signers' authenticated channels).
// A candidate is never handed out or trusted as a certificate: certify turns it into one — checking
// each signature, dropping bad ones, requiring a quorum — when it is first served and when it is
// restored. An honest decision always certifies: at least a quorum of members precommitted it, and
// this peer holds (and keeps, see onNewHeight) every precommit it counted.

// candidateCertificate assembles, without checking signatures, every stored precommit for the
// decided value, in member order.
func (nd *Node) candidateCertificate(d consensus.Decision) (wire.Certificate, error) {
	var envs []wire.Envelope
	for voter := range nd.n {
		v := consensus.Vote{Type: consensus.Precommit, Height: d.Height, Round: d.Round, Value: d.Value, Voter: voter}
		raw, ok := nd.loop.votes[voteKey{voter: voter, vote: v}]
		if !ok {
			continue
		}
		var env wire.Envelope
		if err := wire.Unmarshal(raw, &env, nd.lim); err != nil {
			return wire.Certificate{}, err
		}
		envs = append(envs, env)
	}
	if q := wire.Quorum(nd.n); len(envs) < q {
		return wire.Certificate{}, fmt.Errorf("%w: %d precommits kept, need %d", wire.ErrQuorum, len(envs), q)
	}
	return wire.AssembleCertificate(envs, nd.lim)
}

// certify returns the certificate made of cand's correctly signed precommits (at most a quorum of
// them, in member order), or an error wrapping wire.ErrQuorum when fewer than a quorum hold.
func (nd *Node) certify(cand wire.Certificate) (wire.Certificate, error) {
	vote := cand.Vote()
	body, err := wire.Marshal(&vote)
	if err != nil {
		return wire.Certificate{}, err
	}
	out := cand
	out.Signers, out.Sigs = nil, nil
	keys, err := nd.chain.KeysAt(cand.Height) // the members in force at that height (membership.go)
	if err != nil {
		return wire.Certificate{}, err
	}
	q := wire.Quorum(len(keys))
	for j, s := range cand.Signers {
		if len(out.Signers) == q {
			break
		}
		if int(s) >= len(keys) || j >= len(cand.Sigs) {
			continue
		}
		e := wire.Envelope{Version: wire.Version, Type: wire.TypeVote, Signer: s, Body: body, Sig: cand.Sigs[j]}
		nd.verified.Add(1)
		if e.Verify(keys[s]) != nil {
			nd.log.Warn("precommit with a bad signature left out of a certificate", "member", s, "height", cand.Height)
			continue
		}
		out.Signers = append(out.Signers, s)
		out.Sigs = append(out.Sigs, cand.Sigs[j])
	}
	if len(out.Signers) < q {
		return wire.Certificate{}, fmt.Errorf("%w: %d correctly signed precommits, need %d", wire.ErrQuorum, len(out.Signers), q)
	}
	return out, nil
}

// servedState returns the encoded StateResponse this peer serves: the latest decided state with a
// certified certificate, certifying the stored candidate on first use. Safe from any goroutine; the
// signature checks run outside the lock.
func (nd *Node) servedState() ([]byte, error) {
	nd.mu.Lock()
	raw, cand := nd.latest, nd.latestCand
	nd.mu.Unlock()
	if raw != nil || cand == nil {
		return raw, nil
	}
	resp := *cand
	cert, err := nd.certify(cand.Cert)
	if err != nil {
		return nil, err
	}
	resp.Cert = cert
	if raw, err = wire.Marshal(&resp); err != nil {
		return nil, err
	}
	nd.mu.Lock()
	if nd.latestCand == cand {
		nd.latest = raw
	}
	nd.mu.Unlock()
	return raw, nil
}
