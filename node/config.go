package node

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/byzpp/byzpp/algo/attack"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/p2p"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// ErrConfig is wrapped by every Config.Validate error.
var ErrConfig = errors.New("node: invalid config")

// Protocol-level attacks understood by Config.Attack besides algo/attack's learning-level ones.
const (
	// AttackMute sends nothing at all: no round message, proposal or vote.
	AttackMute = "mute"
	// AttackWrongDigest behaves honestly except that, as leader, it proposes a wrong state digest.
	AttackWrongDigest = "wrong-digest"
)

// Config configures a Node.
type Config struct {
	Genesis *genesis.Genesis
	Key     crypto.PrivKey // this peer's identity; its peer ID must be a genesis member
	// StateDir holds the persisted state (decided state + certificate, consensus state). Empty: keep
	// nothing (tests only).
	StateDir string
	Host     *p2p.Host
	// Data overrides where the genesis' data set is loaded from (a path to the same LIBSVM file); it
	// does not change the run id.
	Data string
	// Attack makes this peer Byzantine (testnets): "" or "none" is honest.
	Attack string
	Logger *slog.Logger
	// TickInterval overrides the genesis' tick length (0: use genesis Timeouts.TickMillis).
	TickInterval time.Duration
	// OnCommit, if set, is called from the event loop after every state this peer adopts (by decision
	// or catch-up) with the new round and its state digest. It must not block.
	OnCommit func(round uint64, digest [32]byte)
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
	self, err := selfIndex(c.Genesis, c.Key)
	if err != nil {
		return err
	}
	if c.Host.ID().String() != c.Genesis.Members[self] {
		return fmt.Errorf("%w: host identity %s differs from the key's", ErrConfig, c.Host.ID())
	}
	if _, err := parseAttack(c.Attack); err != nil {
		return err
	}
	return nil
}

// attackMode is the parsed Config.Attack.
type attackMode struct {
	mute, wrongDigest bool
	learning          attack.Attack // nil when the member's round messages are honest
}

func parseAttack(name string) (attackMode, error) {
	switch strings.TrimSpace(name) {
	case "", "none":
		return attackMode{}, nil
	case AttackMute:
		return attackMode{mute: true}, nil
	case AttackWrongDigest:
		return attackMode{wrongDigest: true}, nil
	}
	a, err := attack.Parse(name)
	if err != nil {
		return attackMode{}, fmt.Errorf("%w: attack %q: %w (or %s, %s)", ErrConfig, name, err, AttackMute, AttackWrongDigest)
	}
	return attackMode{learning: a}, nil
}
