package node

import (
	"time"

	"github.com/byzpp/byzpp/node/accountability"
	"github.com/byzpp/byzpp/p2p"
)

// Abuse by members (package accountability counts offences and says when to cut a member off): p2p
// penalises and blocks non-members on its own; for members, every invalid frame or message over their
// own channel and every vote flood is an offence, and the node closes and refuses the connections of
// a member the Book says to cut off.

// watchAbuse makes the host trust this epoch's members (p2p handles the others), keeps gossip to the
// run's topics, and hands every invalid input p2p reports about a member to the node.
func (nd *Node) watchAbuse() {
	h := nd.cfg.Host
	members := make(map[p2p.PeerID]int, len(nd.peers))
	for i, p := range nd.peers {
		members[p] = i
	}
	h.SetTrusted(func(p p2p.PeerID) bool { _, ok := members[p]; return ok })
	h.AllowTopics(topicName(topicRound, nd.run), topicName(topicConsensus, nd.run))
	h.OnInvalidInput(func(in p2p.InvalidInput) {
		if i, ok := members[in.Peer]; ok && i != nd.self {
			nd.offence(i, accountability.InvalidFrame)
		}
	})
}

// isMember reports whether p is a member of this epoch (for p2p.Allow: checked before any byte of a
// members-only stream is read).
func (nd *Node) isMember(p p2p.PeerID) bool {
	for _, m := range nd.peers {
		if m == p {
			return true
		}
	}
	return false
}

// offence names member for kind (accountability.Offence) and cuts it off for accountability.CutOffFor
// when it has offended too often. Safe from any goroutine.
func (nd *Node) offence(member int, kind string) {
	if nd.acct.Offence(member, kind, time.Now()) {
		nd.log.Warn("cutting a member off", "culprit", member, "offence", kind, "for", accountability.CutOffFor)
		nd.cfg.Host.BlockPeerFor(nd.peers[member], accountability.CutOffFor)
	}
}
