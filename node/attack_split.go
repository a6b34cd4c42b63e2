package node

import (
	"context"

	"github.com/byzpp/byzpp/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

// splitPublish sends a to the first half of the other members and b to the second half (with direct,
// over the direct streams honest members use, so each half sees only its own version first), then
// both through gossip. An equivocator's whole point is that the halves disagree about what it said;
// what honest peers must do is notice the conflict. It runs in the background so the event loop never
// waits on a peer.
func (nd *Node) splitPublish(ctx context.Context, t p2p.Topic, a, b []byte, direct bool) {
	var others []peer.ID
	for i, p := range nd.peers {
		if i != nd.self {
			others = append(others, p)
		}
	}
	half := len(others) / 2
	go func() {
		for i, p := range others {
			data := a
			if i >= half {
				data = b
			}
			if direct {
				if err := nd.cfg.Host.Send(p, protoDirect, data); err != nil {
					nd.log.Debug("direct equivocation send failed", "peer", p, "err", err)
				}
			}
		}
		// Then both versions through ordinary gossip (deduplicated where already delivered): honest
		// peers do not forward a vote they find stale, so without this a fast decision could leave
		// each half with only its own version, an equivocation nobody can prove.
		_ = t.Publish(ctx, a)
		_ = t.Publish(ctx, b)
	}()
}
