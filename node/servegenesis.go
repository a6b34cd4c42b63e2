package node

import (
	"context"

	"github.com/byzpp/byzpp/p2p"
)

// ProtoGenesis is the stream protocol (under the p2p prefix) on which peers serve the run's genesis
// file, so that a volunteer needs only a bootstrap address (and, to be sure of the run, its id):
// cmd/peer fetchgenesis. Once running, it learns the members' addresses over p2p.ProtoAddrs.
const ProtoGenesis = "genesis/1"

// MaxGenesisSize bounds a genesis file fetched from a peer.
const MaxGenesisSize = 1 << 20

// serveGenesis answers with the canonical genesis encoding; a request naming another run id (32
// bytes) is refused.
func (p *Peer) serveGenesis(_ context.Context, _ p2p.PeerID, req []byte) ([]byte, error) {
	run, err := p.cfg.Genesis.RunID()
	if err != nil {
		return nil, err
	}
	if len(req) == len(run) && string(req) != string(run[:]) {
		return nil, errNotMine
	}
	return p.cfg.Genesis.Encode()
}
