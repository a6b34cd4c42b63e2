package node

// The outbox. p2p writes whatever is queued for one member in a single write — one system call and
// one wake-up at each end — but only what is queued before that member's sender goroutine runs.
// Frames handed to p2p one at a time, with other work in between, went out in separate writes: on a
// 20-peer testnet a leader's precommit bundle and, a moment later (after its decision and a journal
// write), its proposal left in two writes to every member, though they go to the same members at the
// same step. So the event loop collects the direct frames it sends during one turn, per member, and
// hands them to p2p together at the end of the turn (Run, before it waits for the next input), in the
// order they were sent. Nothing in a turn waits for a frame it sent, so only the write is later, by
// at most the rest of the turn.
type outbox struct {
	frames [][][]byte // per member, in send order
	dirty  []int      // members with frames, in the order of their first frame
}

// sendTo queues frame for member j until the end of the loop's turn.
func (nd *Node) sendTo(j int, frame []byte) {
	o := &nd.outbox
	if o.frames == nil {
		o.frames = make([][][]byte, nd.n)
	}
	if len(o.frames[j]) == 0 {
		o.dirty = append(o.dirty, j)
	}
	o.frames[j] = append(o.frames[j], frame)
}

// flushOutbox hands every queued frame to p2p, member by member. A frame p2p refuses (the host is
// closing, the member is blocked) is lost like one lost on the way: the protocol repeats what matters.
func (nd *Node) flushOutbox() {
	o := &nd.outbox
	for _, j := range o.dirty {
		for i, f := range o.frames[j] {
			if err := nd.cfg.Host.Send(nd.peers[j], protoDirect, f); err != nil {
				nd.log.Debug("direct send", "to", j, "err", err)
			}
			o.frames[j][i] = nil
		}
		o.frames[j] = o.frames[j][:0]
	}
	o.dirty = o.dirty[:0]
}
