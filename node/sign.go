package node

import "github.com/byzpp/byzpp/p2p/wire"

// sign signs body as this member and encodes the envelope, in one buffer (wire.SignedBytes: a round
// message of a large model is megabytes).
func (nd *Node) sign(body wire.Message) ([]byte, error) {
	return wire.SignedBytes(nd.cfg.Key, uint32(nd.self), body)
}
