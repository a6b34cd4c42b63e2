package byzantine

import "context"

// splitPublish sends a to the first half of the other members and b to the second half (with direct,
// over the direct streams honest members use, so each half sees only its own version first), then
// both through gossip. An equivocator's whole point is that the halves disagree about what it said;
// what honest peers must do is notice the conflict. It runs in the background so the event loop never
// waits on a peer.
func (by *byzantine) splitPublish(ctx context.Context, consensusTopic bool, a, b []byte, direct bool) {
	var others []int
	for i := range by.env.N() {
		if i != by.env.Self() {
			others = append(others, i)
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
				if err := by.env.SendDirect(p, data); err != nil {
					by.env.Log().Debug("direct equivocation send failed", "member", p, "err", err)
				}
			}
		}
		// Then both versions through ordinary gossip (deduplicated where already delivered): honest
		// peers do not forward a vote they find stale, so without this a fast decision could leave
		// each half with only its own version, an equivocation nobody can prove.
		_ = by.env.Publish(ctx, consensusTopic, a)
		_ = by.env.Publish(ctx, consensusTopic, b)
	}()
}
