package byzantine

import "github.com/byzpp/byzpp/p2p/wire"

// TamperRelay is a tamper-relay leader's lie (AttackTamperRelay): it cannot sign for others, so it
// alters what a receiver checks instead — every even-placed vote gets a MAC with a flipped bit, every
// odd-placed one the MAC of its neighbour (a MAC of another envelope). Honest receivers must drop every
// such vote (Status.RelayMACFailures) and still decide, through the fallbacks of relay.go. An honest
// leader leaves the bundle alone.
func (b *byzantine) TamperRelay(votes []wire.RelayedVote) {
	if !b.atk.tamperRelay {
		return
	}
	for i := range votes {
		if i%2 == 1 && votes[i].MAC != votes[i-1].MAC {
			votes[i].MAC = votes[i-1].MAC
			continue
		}
		votes[i].MAC[i%wire.MACSize] ^= 0x80
	}
}
