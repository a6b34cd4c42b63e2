package p2p

import "sync/atomic"

// Traffic is a snapshot of byte counters, for metrics.
type Traffic struct {
	// WireIn and WireOut count every byte on this host's libp2p streams (gossip, DHT, identify, requests),
	// as reported by the bandwidth reporter. They stay 0 on hosts without one (NewFromHost, mocknet).
	// libp2p's BandwidthCounter refreshes its totals once a second.
	WireIn, WireOut int64
	// GossipIn counts payload bytes of validated gossip messages from other peers delivered by Next;
	// GossipOut counts payload bytes this host published.
	GossipIn, GossipOut int64
	// StreamIn and StreamOut count request/response payload bytes (both as requester and as server).
	StreamIn, StreamOut int64
	// DirectIn and DirectOut count direct-message payload bytes (see Host.Send).
	DirectIn, DirectOut int64
	// DirectMsgsIn and DirectMsgsOut count direct messages; DirectWritesOut counts the stream writes
	// that sent them (messages queued for one peer together leave in one write).
	DirectMsgsIn, DirectMsgsOut, DirectWritesOut int64
}

type trafficCounters struct {
	gossipIn, gossipOut, streamIn, streamOut, directIn, directOut atomic.Int64
	directMsgsIn, directMsgsOut, directWritesOut                  atomic.Int64
}

// Traffic returns the current byte counters.
func (h *Host) Traffic() Traffic {
	t := Traffic{
		GossipIn:      h.traffic.gossipIn.Load(),
		GossipOut:     h.traffic.gossipOut.Load(),
		StreamIn:      h.traffic.streamIn.Load(),
		StreamOut:     h.traffic.streamOut.Load(),
		DirectIn:      h.traffic.directIn.Load(),
		DirectOut:     h.traffic.directOut.Load(),
		DirectMsgsIn:  h.traffic.directMsgsIn.Load(),
		DirectMsgsOut: h.traffic.directMsgsOut.Load(),

		DirectWritesOut: h.traffic.directWritesOut.Load(),
	}
	if h.bw != nil {
		s := h.bw.GetBandwidthTotals()
		t.WireIn, t.WireOut = s.TotalIn, s.TotalOut
	}
	return t
}
