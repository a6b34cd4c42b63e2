package node

// probeEveryStuck spaces blind state requests, in multiples of the "stuck" interval.
const probeEveryStuck = 2

// shouldProbe reports whether a stuck peer that has heard of no higher height should still ask a
// peer for its latest certified state. A peer that restarts, or starts late, after the others have
// decided the genesis' last round hears nothing at all: finished peers send no consensus messages,
// so waiting to notice a higher height would wait forever. The probe asks one member at a time,
// rotating, every probeEveryStuck stuck intervals; a peer that is not ahead answers with a state
// that is simply ignored.
func (nd *Node) shouldProbe(stuckTicks uint64) bool {
	if nd.finished() || nd.loop.ticks-nd.loop.lastProbe < probeEveryStuck*stuckTicks {
		return false
	}
	nd.loop.lastProbe = nd.loop.ticks
	nd.loop.probes++
	return true
}

// probeTarget rotates over the other members.
func (nd *Node) probeTarget() int {
	t := (nd.self + 1 + int(nd.loop.probes)%(nd.n-1)) % nd.n
	return t
}
