package p2p

import "github.com/libp2p/go-libp2p/core/peer"

// TopicPeers lists the peers gossipsub believes subscribe to the full topic name, joined or not.
func TopicPeers(h *Host, topic string) []peer.ID { return h.ps.ListPeers(topic) }

// InboundStreams is how many inbound streams h serves now.
func InboundStreams(h *Host) int64 { return h.inboundAll.Load() }
