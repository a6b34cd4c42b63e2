package roster

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/byzpp/byzpp/p2p"
	"github.com/byzpp/byzpp/p2p/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	// ActivationDelay is how many rounds after its decision a change takes effect. One would do for
	// determinism (whoever works on round h+1 decided h); two leave the round being collected while h
	// is decided untouched.
	ActivationDelay = 2
	// OpTTL bounds how many heights a signed join or leave request stays valid.
	OpTTL = 256
)

// Sentinel errors.
var (
	ErrOp    = errors.New("roster: invalid membership operation")
	ErrChain = errors.New("roster: membership change does not check out")
)

// Epoch is the member list (sorted peer IDs) in force from round Start on.
type Epoch struct {
	Start   uint64
	Members []string
}

// Index returns the position of id in the epoch's member list, or -1.
func (e Epoch) Index(id string) int {
	i, ok := slices.BinarySearch(e.Members, id)
	if !ok {
		return -1
	}
	return i
}

// Chain is the genesis member list followed by every decided change. It is safe for concurrent use
// (a peer checks states fetched in the background while its event loop records decisions).
type Chain struct {
	mu       sync.Mutex
	run      wire.RunID
	capacity int
	epochs   []Epoch // epochs[0] starts at round 0; Start strictly increases
	proofs   []wire.ChangeProof
	keys     map[int][]crypto.PubKey // epoch index → member keys, filled on demand
	// touched is the height of the last decided change of each peer (replay protection).
	touched map[string]uint64
}

// New starts a chain at the genesis members (sorted) of run; capacity bounds the members at once.
func New(run wire.RunID, genesis []string, capacity int) *Chain {
	return &Chain{run: run, capacity: capacity, epochs: []Epoch{{Start: 0, Members: slices.Clone(genesis)}},
		keys: map[int][]crypto.PubKey{}, touched: map[string]uint64{}}
}

// Clone returns an independent copy.
func (c *Chain) Clone() *Chain {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := New(c.run, c.epochs[0].Members, c.capacity)
	out.epochs = slices.Clone(c.epochs)
	out.proofs = slices.Clone(c.proofs)
	for k, v := range c.touched {
		out.touched[k] = v
	}
	return out
}

// At returns the epoch in force at round k.
func (c *Chain) At(k uint64) Epoch {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.epochAt(k)
	return c.epochs[i]
}

func (c *Chain) epochAt(k uint64) int {
	i := len(c.epochs) - 1
	for i > 0 && c.epochs[i].Start > k {
		i--
	}
	return i
}

// Latest returns the epoch after every decided change, which may start in the future.
func (c *Chain) Latest() Epoch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epochs[len(c.epochs)-1]
}

// Next returns the first epoch starting after round k, if a decided change is still to take effect.
func (c *Chain) Next(k uint64) (Epoch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.epochs {
		if e.Start > k {
			return e, true
		}
	}
	return Epoch{}, false
}

// Proofs returns the proofs of every change, in order.
func (c *Chain) Proofs() []wire.ChangeProof {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.proofs)
}

// Len is the number of decided changes.
func (c *Chain) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.proofs)
}

// KeysAt returns the public keys of the members in force at round k.
func (c *Chain) KeysAt(k uint64) ([]crypto.PubKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keysAt(k)
}

func (c *Chain) keysAt(k uint64) ([]crypto.PubKey, error) {
	i := c.epochAt(k)
	if ks, ok := c.keys[i]; ok {
		return ks, nil
	}
	ks, _, err := Keys(c.epochs[i].Members)
	if err != nil {
		return nil, err
	}
	c.keys[i] = ks
	return ks, nil
}

// Keys decodes member peer IDs into their public keys.
func Keys(members []string) ([]crypto.PubKey, []peer.ID, error) {
	keys := make([]crypto.PubKey, len(members))
	ids := make([]peer.ID, len(members))
	for i, m := range members {
		id, err := peer.Decode(m)
		if err != nil {
			return nil, nil, fmt.Errorf("member %q: %w", m, err)
		}
		pub, err := p2p.PubKeyFromID(id)
		if err != nil {
			return nil, nil, err
		}
		keys[i], ids[i] = pub, id
	}
	return keys, ids, nil
}

// CheckOps checks the operations a proposal of the given height carries against the latest member
// list, and returns the member list they lead to. It checks everything a peer can check from decided
// state alone: signatures and freshness of joins and leaves, membership, capacity, one operation per
// peer. Whether a member named by a Remove really went silent is the caller's to judge.
func (c *Chain) CheckOps(height uint64, ops []wire.MemberOp) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checkOps(height, ops)
}

func (c *Chain) checkOps(height uint64, ops []wire.MemberOp) ([]string, error) {
	if len(ops) == 0 {
		return nil, fmt.Errorf("%w: no operations", ErrOp)
	}
	if n := len(c.proofs); n > 0 && c.proofs[n-1].Proposal.Height >= height {
		return nil, fmt.Errorf("%w: height %d is not after the last change", ErrOp, height)
	}
	members := slices.Clone(c.epochs[len(c.epochs)-1].Members)
	seen := map[string]bool{}
	for j := range ops {
		o := &ops[j]
		id, err := peer.IDFromBytes(o.Peer)
		if err != nil {
			return nil, fmt.Errorf("%w: operation %d: peer ID: %v", ErrOp, j, err)
		}
		name := id.String()
		if seen[name] {
			return nil, fmt.Errorf("%w: two operations on %s", ErrOp, name)
		}
		seen[name] = true
		pos, isMember := slices.BinarySearch(members, name)
		switch o.Kind {
		case wire.OpJoin, wire.OpLeave:
			if o.Height > height || height-o.Height > OpTTL {
				return nil, fmt.Errorf("%w: %s request of height %d at height %d", ErrOp, o.Kind, o.Height, height)
			}
			if last, ok := c.touched[name]; ok && o.Height <= last {
				return nil, fmt.Errorf("%w: %s request of height %d predates the change of %s at %d", ErrOp, o.Kind, o.Height, name, last)
			}
			if err := VerifySignature(c.run, o, id); err != nil {
				return nil, err
			}
		case wire.OpRemove:
			if o.Height != height {
				return nil, fmt.Errorf("%w: remove of height %d proposed at height %d", ErrOp, o.Height, height)
			}
		default:
			return nil, fmt.Errorf("%w: kind %d", ErrOp, o.Kind)
		}
		if o.Kind == wire.OpJoin {
			if isMember {
				return nil, fmt.Errorf("%w: %s is already a member", ErrOp, name)
			}
			members = slices.Insert(members, pos, name)
			continue
		}
		if !isMember {
			return nil, fmt.Errorf("%w: %s of %s, not a member", ErrOp, o.Kind, name)
		}
		members = slices.Delete(members, pos, pos+1)
	}
	if len(members) > c.capacity {
		return nil, fmt.Errorf("%w: %d members, the run allows %d", ErrOp, len(members), c.capacity)
	}
	if len(members) == 0 {
		return nil, fmt.Errorf("%w: no member would be left", ErrOp)
	}
	return members, nil
}

// Append adds a decided change. With verify, the certificate is checked against the members in force
// at the change's height (a peer that counted the precommits itself may pass a certificate it built).
func (c *Chain) Append(p wire.ChangeProof, verify bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.append(p, verify)
}

func (c *Chain) append(p wire.ChangeProof, verify bool) error {
	lim := wire.DefaultLimits()
	if err := p.Validate(&lim); err != nil {
		return fmt.Errorf("%w: %w", ErrChain, err)
	}
	if p.Proposal.Run != c.run {
		return fmt.Errorf("%w: another run", ErrChain)
	}
	h := p.Proposal.Height
	if verify {
		keys, err := c.keysAt(h)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrChain, err)
		}
		if err := p.Cert.Verify(keys); err != nil {
			return fmt.Errorf("%w: height %d: %w", ErrChain, h, err)
		}
	}
	members, err := c.checkOps(h, p.Proposal.Ops)
	if err != nil {
		return fmt.Errorf("%w: height %d: %w", ErrChain, h, err)
	}
	c.epochs = append(c.epochs, Epoch{Start: h + ActivationDelay, Members: members})
	c.proofs = append(c.proofs, p)
	for _, o := range p.Proposal.Ops {
		if id, err := peer.IDFromBytes(o.Peer); err == nil {
			c.touched[id.String()] = h
		}
	}
	return nil
}

// Extend appends the changes of proofs that c does not have yet, after checking that proofs starts
// with exactly c's changes (a peer with another history is lying or on another run). It reports how
// many changes it added.
func (c *Chain) Extend(proofs []wire.ChangeProof) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(proofs) < len(c.proofs) {
		return 0, nil // an older view; nothing to learn
	}
	for j := range c.proofs {
		if proofs[j].Proposal.ValueID() != c.proofs[j].Proposal.ValueID() {
			return 0, fmt.Errorf("%w: change %d differs from the one decided here", ErrChain, j)
		}
	}
	added := 0
	for j := len(c.proofs); j < len(proofs); j++ {
		if err := c.append(proofs[j], true); err != nil {
			return added, err
		}
		added++
	}
	return added, nil
}

// VerifySignature checks that a join or leave was signed by the key of peer id, the peer it names.
func VerifySignature(run wire.RunID, o *wire.MemberOp, id peer.ID) error {
	pub, err := p2p.PubKeyFromID(id)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOp, err)
	}
	if ok, err := pub.Verify(o.OpSigningBytes(run), o.Sig); err != nil || !ok {
		return fmt.Errorf("%w: %s of %s: bad signature", ErrOp, o.Kind, id)
	}
	return nil
}

// SignOp makes a signed join or leave request of the peer holding key, at the given height.
func SignOp(key crypto.PrivKey, run wire.RunID, kind wire.OpKind, height uint64) (wire.MemberOp, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return wire.MemberOp{}, err
	}
	o := wire.MemberOp{Kind: kind, Peer: []byte(id), Height: height}
	sig, err := key.Sign(o.OpSigningBytes(run))
	if err != nil {
		return wire.MemberOp{}, err
	}
	o.Sig = sig
	return o, nil
}

// RemoveOp names a member to remove for silence, proposed at height.
func RemoveOp(member string, height uint64) (wire.MemberOp, error) {
	id, err := peer.Decode(member)
	if err != nil {
		return wire.MemberOp{}, err
	}
	return wire.MemberOp{Kind: wire.OpRemove, Peer: []byte(id), Height: height}, nil
}
