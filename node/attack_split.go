package node

import (
	"context"
	"encoding/binary"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/proto"

	"github.com/byzpp/byzpp/p2p"
)

// splitTimeout bounds the direct delivery of one equivocating message to one peer.
const splitTimeout = 2 * time.Second

// splitPublish sends a to the first half of the other members and b to the second half, each as a
// gossipsub RPC written on a fresh stream straight to that peer: gossipsub itself has no way to publish
// different payloads to different peers, and an equivocator's whole point is that each half sees only
// its own version first. Receivers validate and forward as usual, so both versions spread in the end;
// what they must do is notice the conflict. The writes run in the background so the event loop never waits on a peer.
func (nd *Node) splitPublish(ctx context.Context, t *p2p.Topic, a, b []byte, direct bool) {
	var others []peer.ID
	for i, p := range nd.peers {
		if i != nd.self {
			others = append(others, p)
		}
	}
	half := len(others) / 2
	topic := t.Name()
	go func() {
		for i, p := range others {
			data := a
			if i >= half {
				data = b
			}
			if direct {
				if err := nd.pushGossip(ctx, p, topic, data); err != nil {
					nd.log.Debug("direct equivocation push failed", "peer", p, "err", err)
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

// pushGossip writes one gossipsub RPC publishing data on topic to peer p.
func (nd *Node) pushGossip(ctx context.Context, p peer.ID, topic string, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, splitTimeout)
	defer cancel()
	s, err := nd.cfg.Host.LibP2P().NewStream(ctx, p,
		protocol.ID(pubsub.GossipSubID_v13), protocol.ID(pubsub.GossipSubID_v12), protocol.ID(pubsub.GossipSubID_v11))
	if err != nil {
		return err
	}
	defer s.Close()
	_ = s.SetWriteDeadline(time.Now().Add(splitTimeout))
	body, err := proto.Marshal(&pb.RPC{Publish: []*pb.Message{{Data: data, Topic: &topic}}})
	if err != nil {
		return err
	}
	frame := binary.AppendUvarint(make([]byte, 0, len(body)+binary.MaxVarintLen64), uint64(len(body)))
	_, err = s.Write(append(frame, body...))
	return err
}
