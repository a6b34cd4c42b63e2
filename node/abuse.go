package node

import (
	"time"

	"github.com/byzpp/byzpp/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Abuse by members. p2p penalises and blocks peers it does not trust (non-members) for invalid input
// on its own; members are trusted there (their invalid input is reported, never auto-blocked), because
// cutting a member off costs the run its votes. The node decides for members: every invalid frame or
// message a member sends over its own authenticated channel, and every vote flood (a voter overrunning
// its allowance in the vote store), is named (blame kinds "invalid-frame" and "flood") and counted;
// a member with cutOffAfter offences within cutOffWindow is cut off for cutOffFor — its connections
// closed and refused. An honest member never sends an invalid frame, and overruns its allowance only
// after dozens of attempts at one height, so a cut-off member is a Byzantine one; the others decide
// without it (at most f members can be cut off without their being more than f Byzantine ones).
const (
	blameInvalidFrame = "invalid-frame" // a frame or message over its own channel that fails to decode or check
	blameFlood        = "flood"         // votes beyond its allowance at one height (votestore)

	cutOffAfter  = 50
	cutOffWindow = time.Minute
	cutOffFor    = 10 * time.Minute
)

// offenceLog counts recent offences per member for the cut-off; guarded by nd.mu.
type offenceLog struct {
	times map[int][]time.Time
}

// watchAbuse makes the host trust this epoch's members (p2p handles the others), keeps gossip to the
// run's topics, and hands every invalid input p2p reports about a member to the node.
func (nd *Node) watchAbuse() {
	h := nd.cfg.Host
	members := make(map[peer.ID]int, len(nd.peers))
	for i, p := range nd.peers {
		members[p] = i
	}
	h.SetTrusted(func(p peer.ID) bool { _, ok := members[p]; return ok })
	h.AllowTopics(topicName(topicRound, nd.run), topicName(topicConsensus, nd.run))
	h.OnInvalidInput(func(in p2p.InvalidInput) {
		if i, ok := members[in.Peer]; ok && i != nd.self {
			nd.offence(i, blameInvalidFrame)
		}
	})
}

// isMember reports whether p is a member of this epoch (for p2p.Allow: checked before any byte of a
// members-only stream is read).
func (nd *Node) isMember(p peer.ID) bool {
	for _, m := range nd.peers {
		if m == p {
			return true
		}
	}
	return false
}

// offence names member for kind and cuts it off when it has offended cutOffAfter times within
// cutOffWindow. Safe from any goroutine.
func (nd *Node) offence(member int, kind string) {
	if member < 0 || member >= nd.n || member == nd.self {
		return
	}
	now := time.Now()
	nd.mu.Lock()
	nd.blameLocked(member, kind)
	if nd.offences.times == nil {
		nd.offences.times = map[int][]time.Time{}
	}
	recent := nd.offences.times[member][:0]
	for _, t := range nd.offences.times[member] {
		if now.Sub(t) < cutOffWindow {
			recent = append(recent, t)
		}
	}
	recent = append(recent, now)
	cut := len(recent) >= cutOffAfter
	if cut {
		recent = recent[:0]
	}
	nd.offences.times[member] = recent
	nd.mu.Unlock()
	if cut {
		nd.log.Warn("cutting a member off", "culprit", member, "offence", kind, "for", cutOffFor)
		nd.cutOff.Add(1)
		nd.cfg.Host.BlockPeerFor(nd.peers[member], cutOffFor)
	}
}
