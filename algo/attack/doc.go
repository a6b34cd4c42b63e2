// Package attack implements what a Byzantine member sends in a round.
//
// May import: the standard library and other algo/ packages only (algo is pure: nothing of consensus,
// node, p2p, testnet or cmd, no network, no wire format). Layering checked by internal/arch.
//
// Attacks are omniscient where the literature makes them so: they may see every honest message of the
// round (on the network, colluding Byzantine peers see them in gossip before they answer). Each attack is
// a pure function of a View, so the simulator and a misbehaving network peer send the same bits.
//
// Implemented (names as accepted by Parse):
//
//	none    honest behaviour
//	bf      bit/sign flip: the negative of the honest message it would have sent
//	lf      label flip: an honest computation with labels y → 1 − y
//	alie    A Little Is Enough (Baruch et al. 2019): μ − z·σ coordinate-wise over the honest messages,
//	        z = Φ⁻¹((n − B − s)/(n − B)), s = ⌊n/2 + 1⌋ − B; "alie:z=1.5" overrides z
//	ipm     Inner Product Manipulation (Xie et al. 2020): −ε·μ, ε = 0.1; "ipm:eps=0.5"
//	shb     Shift-Back: when the Byzantines are strictly more than half of the round's sample, send what
//	        moves the model back to x^0; otherwise behave honestly
//	noise   Gaussian noise N(0, σ²) per coordinate, σ = 1; "noise:sigma=10"
//	mimic   copy the message of the lowest-indexed honest member of the sample
//	silent  send nothing
package attack
