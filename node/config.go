package node

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/byzpp/byzpp/algo/sim"
	"github.com/byzpp/byzpp/node/byzantine"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/roster"
	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
)

// ErrConfig is wrapped by every Config.Validate error.
var ErrConfig = errors.New("node: invalid config")

// Config configures a Node.
type Config struct {
	Genesis *genesis.Genesis
	Key     p2p.PrivKey // this peer's identity; its peer ID must be a genesis member
	// StateDir holds the persisted state (decided state + certificate, consensus state). Empty: keep
	// nothing (tests only).
	StateDir string
	Host     p2p.Network
	// Data overrides where the genesis' data set is loaded from (a path to the same LIBSVM file); it
	// does not change the run id.
	Data string
	// Attack makes this peer Byzantine (testnets): "" or "none" is honest; otherwise a comma-separated
	// list of protocol-level attacks (see AttackMute and the others) and at most one algo/attack spec.
	Attack string
	Logger *slog.Logger
	// TickInterval overrides the genesis' tick length (0: use genesis Timeouts.TickMillis).
	TickInterval time.Duration
	// DirectVotes sends this member's votes straight to every member instead of through the
	// attempt's leader (relay.go): the dissemination before the relay, for comparisons. The member
	// still relays votes sent to it as leader and accepts relayed votes.
	DirectVotes bool
	// OnCommit, if set, is called from the event loop after every state this peer adopts (by decision
	// or catch-up) with the new round and its state digest. It must not block.
	OnCommit func(round uint64, digest [32]byte)

	// Open runs (membership.go). Chain, if set, is the member history to start from (RunPeer hands
	// it from one epoch to the next); otherwise it is read from StateDir or starts at the genesis.
	// DataCache, if set, keeps the data set loaded across epochs.
	Chain     *roster.Chain
	DataCache *sim.DataCache
	// start is a verified state to begin from instead of StateDir's (RunPeer's observer hands it to
	// the member it becomes when there is no StateDir).
	start *wire.StateResponse
	// carried is what the previous epoch's Node recorded (curve, passes over the data), so that a
	// peer's curve spans the whole run, not just its last epoch.
	carried *carried
}

type carried struct {
	curve []sim.Point
	epoch float64
}

// Validate checks the config without touching the network or disk.
func (c *Config) Validate() error {
	switch {
	case c.Genesis == nil:
		return fmt.Errorf("%w: no genesis", ErrConfig)
	case c.Key == nil:
		return fmt.Errorf("%w: no key", ErrConfig)
	case c.Host == nil:
		return fmt.Errorf("%w: no p2p host", ErrConfig)
	case c.TickInterval < 0:
		return fmt.Errorf("%w: negative tick interval", ErrConfig)
	}
	if err := c.Genesis.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	id, err := p2p.PeerIDFromPrivateKey(c.Key)
	if err != nil {
		return fmt.Errorf("%w: key: %w", ErrConfig, err)
	}
	if !c.Genesis.Open && c.Genesis.MemberIndex(id.String()) < 0 {
		return fmt.Errorf("%w: peer %s is not a member of this (closed) run", ErrConfig, id)
	}
	if c.Host.ID() != id {
		return fmt.Errorf("%w: host identity %s differs from the key's", ErrConfig, c.Host.ID())
	}
	if err := byzantine.Check(c.Attack); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}
