package genesis

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/byzpp/byzpp/algo/sim"
)

// Version of the genesis format.
const Version = 1

// ErrGenesis is wrapped by every error about a malformed genesis.
var ErrGenesis = errors.New("invalid genesis")

// Timeouts of the round protocol, in ticks of TickMillis milliseconds. The timeout of attempt a is
// Base + a·Delta: it grows while attempts fail and resets after a decision.
type Timeouts struct {
	TickMillis     int    `json:"tick_ms"`
	ProposeBase    uint32 `json:"propose_base"`
	ProposeDelta   uint32 `json:"propose_delta"`
	PrevoteBase    uint32 `json:"prevote_base"`
	PrevoteDelta   uint32 `json:"prevote_delta"`
	PrecommitBase  uint32 `json:"precommit_base"`
	PrecommitDelta uint32 `json:"precommit_delta"`
	// CollectTicks is how long a leader waits for the sampled members' messages before it proposes
	// with what it has (it proposes at once when all have arrived).
	CollectTicks uint32 `json:"collect"`
}

// DefaultTimeouts suit a LAN or loopback testnet of small models.
func DefaultTimeouts() Timeouts {
	return Timeouts{TickMillis: 10, ProposeBase: 100, ProposeDelta: 50, PrevoteBase: 50, PrevoteDelta: 25,
		PrecommitBase: 50, PrecommitDelta: 25, CollectTicks: 50}
}

// Genesis is the content of a genesis file.
type Genesis struct {
	Version int      `json:"version"`
	Name    string   `json:"name"`
	Members []string `json:"members"` // libp2p peer IDs, sorted; member i is Members[i]
	// Byzantine lists member indices the harness runs as attackers. It is only information for
	// reports (sim equivalence, honest-only curves); the protocol never trusts it.
	Byzantine []int    `json:"byzantine,omitempty"`
	Spec      sim.Spec `json:"spec"`
	Timeouts  Timeouts `json:"timeouts"`
	FStar     *float64 `json:"fstar,omitempty"` // optimum of the honest objective, for gap reporting
	// Membership. A closed run (the default) keeps exactly the listed members. An open run lets other
	// peers join and members leave through changes decided by consensus, up to MaxMembers members at
	// once; a member that signed no vote for SilentRounds decided rounds is removed the same way (0:
	// never). The fields are omitted when unset, so a closed genesis keeps its run id.
	Open         bool `json:"open,omitempty"`
	MaxMembers   int  `json:"max_members,omitempty"`
	SilentRounds int  `json:"silent_rounds,omitempty"`
}

// Capacity is the most members the run may have at once.
func (g *Genesis) Capacity() int {
	if g.Open {
		return g.MaxMembers
	}
	return len(g.Members)
}

// Validate checks the genesis.
func (g *Genesis) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrGenesis, fmt.Sprintf(format, args...))
	}
	if g.Version != Version {
		return bad("version %d, this peer understands %d", g.Version, Version)
	}
	if len(g.Members) == 0 {
		return bad("no members")
	}
	if !slices.IsSorted(g.Members) {
		return bad("members must be sorted (member i is the i-th smallest peer ID)")
	}
	for i := 1; i < len(g.Members); i++ {
		if g.Members[i] == g.Members[i-1] {
			return bad("member %s listed twice", g.Members[i])
		}
	}
	if g.Spec.Members != len(g.Members) {
		return bad("spec.n = %d but %d members are listed", g.Spec.Members, len(g.Members))
	}
	for _, b := range g.Byzantine {
		if b < 0 || b >= len(g.Members) {
			return bad("byzantine member %d out of range", b)
		}
	}
	if err := g.Spec.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrGenesis, err)
	}
	switch {
	case !g.Open && (g.MaxMembers != 0 || g.SilentRounds != 0):
		return bad("max_members and silent_rounds only apply to an open run")
	case g.Open && g.MaxMembers < len(g.Members):
		return bad("max_members = %d is below the %d genesis members", g.MaxMembers, len(g.Members))
	case g.Open && g.MaxMembers > 1<<12:
		return bad("max_members = %d, at most %d", g.MaxMembers, 1<<12)
	case g.SilentRounds < 0:
		return bad("silent_rounds = %d", g.SilentRounds)
	}
	t := g.Timeouts
	if t.TickMillis < 1 || t.ProposeBase == 0 || t.PrevoteBase == 0 || t.PrecommitBase == 0 {
		return bad("timeouts must be positive: %+v", t)
	}
	return nil
}

// Encode returns the canonical encoding (indented JSON with a final newline). The run id hashes it.
func (g *Genesis) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// RunID is the SHA-256 of the canonical encoding.
func (g *Genesis) RunID() ([32]byte, error) {
	b, err := g.Encode()
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// MemberIndex returns the index of a peer ID, or -1.
func (g *Genesis) MemberIndex(id string) int {
	i, ok := slices.BinarySearch(g.Members, id)
	if !ok {
		return -1
	}
	return i
}

// Parse decodes and validates a genesis. Unknown fields are an error: a typo must not silently change
// the run.
func Parse(raw []byte) (*Genesis, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	g := &Genesis{Spec: sim.Default(), Timeouts: DefaultTimeouts()}
	if err := dec.Decode(g); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGenesis, err)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}

// Load reads and validates a genesis file.
func Load(path string) (*Genesis, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading genesis: %w", err)
	}
	g, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Save writes the canonical encoding to path (atomically, via a temporary file).
func (g *Genesis) Save(path string) error {
	b, err := g.Encode()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// New builds a validated genesis for the given members (sorted here) and spec: spec.n is set to the
// number of members, the last spec.byz members are listed as Byzantine (as sim.Build treats them), and
// the timeouts are DefaultTimeouts.
func New(name string, members []string, spec sim.Spec) (*Genesis, error) {
	ms := slices.Clone(members)
	slices.Sort(ms)
	spec.Members = len(ms)
	g := &Genesis{Version: Version, Name: name, Members: ms, Spec: spec, Timeouts: DefaultTimeouts()}
	for i := len(ms) - spec.Byzantine; i < len(ms); i++ {
		if i >= 0 {
			g.Byzantine = append(g.Byzantine, i)
		}
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}
