package node

import "github.com/byzpp/byzpp/p2p/wire"

// sign signs body as this member and encodes the envelope.
func (nd *Node) sign(body wire.Message) ([]byte, error) {
	env, err := wire.SignMessage(nd.cfg.Key, uint32(nd.self), body)
	if err != nil {
		return nil, err
	}
	return wire.Marshal(&env)
}
