package byzantine

import (
	"github.com/byzpp/byzpp/consensus"
	"github.com/byzpp/byzpp/p2p/wire"
)

// voteFloodPerTick is how many votes a vote-flood attacker signs and sends per tick (at the default
// 10 ms tick, 5,000 a second; the attack that once halted a run sent 2,000).
const voteFloodPerTick = 50

// floodVotes sends voteFloodPerTick validly signed votes for attempts nobody uses — far above the
// current attempt, at the heights just ahead (kept until they are decided) — to every member. Each is a vote
// this member may legally sign once; honest peers must keep them from crowding out anyone else's.
func (b *byzantine) floodVotes() {
	cur := b.env.Round()
	for range voteFloodPerTick {
		b.byz.flooded++
		i := b.byz.flooded
		v := &wire.Vote{Run: b.env.Run(), Type: wire.VoteType(consensus.Prevote + consensus.VoteType(i%2)),
			Height: cur + 1 + i%b.env.FutureHeights(), Round: uint32(1000 + i), Value: wire.Digest{byte(i), byte(i >> 8), 0xf1}}
		raw, err := b.env.Sign(v)
		if err != nil {
			return
		}
		b.env.Broadcast(raw)
	}
}
