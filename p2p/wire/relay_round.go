package wire

// AuthRound is a signed round message envelope with its authenticator (MACs[j] for member j), sent
// by its author to a leader that forwards it (relay.go describes the frame).
type AuthRound struct {
	Envelope []byte
	MACs     []MAC
}

// RelayedRound is one round message of a RoundBundle with the MAC meant for the bundle's receiver.
type RelayedRound struct {
	Envelope []byte
	MAC      MAC
}

// RoundBundle is the round messages a leader forwards to one member.
type RoundBundle struct {
	Msgs []RelayedRound
}

// MaxBundleRounds is the most round messages one bundle may hold under lim: one per member (a full
// round samples everyone).
func MaxBundleRounds(lim Limits) int { return int(lim.MaxMembers) }

// Marshal encodes a; it refuses what DecodeAuthRound under DefaultLimits would refuse.
func (a *AuthRound) Marshal() ([]byte, error) {
	return marshalAuth(KindAuthRound, authFrame(*a), roundEnv)
}

// DecodeAuthRound decodes an AuthRound frame; at most lim.MaxMembers MACs are accepted.
func DecodeAuthRound(data []byte, lim Limits) (AuthRound, error) {
	a, err := decodeAuth(data, KindAuthRound, lim, roundEnv)
	return AuthRound(a), err
}

// Marshal encodes v; it refuses what DecodeRoundBundle under DefaultLimits would refuse.
func (v *RoundBundle) Marshal() ([]byte, error) {
	return marshalRelayed(KindRoundBundle, v.Msgs, roundEnv, MaxBundleRounds(DefaultLimits()), "round messages in a bundle")
}

// DecodeRoundBundle decodes a RoundBundle frame of at most MaxBundleRounds(lim) messages.
func DecodeRoundBundle(data []byte, lim Limits) (RoundBundle, error) {
	msgs, err := decodeRelayed[RelayedRound](data, KindRoundBundle, lim, roundEnv, MaxBundleRounds(lim), "round messages in a bundle")
	return RoundBundle{Msgs: msgs}, err
}
