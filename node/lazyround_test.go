package node

import (
	"errors"
	"github.com/byzpp/byzpp/node/byzantine"
	"testing"

	"github.com/byzpp/byzpp/node/engine"
	"github.com/byzpp/byzpp/p2p/wire"
)

// sampledAuthor returns a member other than nd sampled in round 0.
func sampledAuthor(t *testing.T, nd *Node, nodes []*Node) *Node {
	t.Helper()
	for i, other := range nodes {
		if i != nd.self && nd.eng.Plan(0).Contains(i) {
			return other
		}
	}
	t.Skip("no other member sampled in round 0")
	return nil
}

// TestLazyRoundMessages: a round message from its own author is taken with its signature unchecked;
// the signature is checked before the message is served, proposed or its omission called censorship,
// and a bad one leaves it out and marks the author faulty. From anyone else it is checked on arrival.
func TestLazyRoundMessages(t *testing.T) {
	nodes := pairOfNodes(t, 4, nil)
	nd := nodes[0]
	testNodes[nd] = nodes
	author := sampledAuthor(t, nd, nodes)
	a := author.self
	body := byzantine.RoundBody(nodeEnv{author}, 0, nd.setup.Model.Dim())
	good := signed(t, nd, a, body, false)
	body.Vec.Values[0] = 1 // another message, badly signed
	bad := signed(t, nd, a, body, true)

	// From a third member, a bad signature is refused at once.
	third := (a + 1) % nd.n
	if third == nd.self {
		third = (third + 1) % nd.n
	}
	if _, err := nd.checkDirect(bad, third); !errors.Is(err, wire.ErrSignature) {
		t.Fatalf("badly signed round message relayed by %d: %v", third, err)
	}
	// From its author, both are taken unchecked.
	for _, raw := range [][]byte{good, bad} {
		in, err := nd.checkDirect(raw, a)
		if err != nil {
			t.Fatal(err)
		}
		if _, verified := nd.sigs.Lookup(in.(*roundIn).digest); verified {
			t.Fatal("a round message from its author was verified on arrival")
		}
	}
	before := nd.verified.Load()
	if !nd.servable(good) || nd.servable(bad) {
		t.Fatal("servable: want the good message only")
	}
	if !nd.servable(good) || nd.verified.Load() != before+2 {
		t.Fatalf("%d signatures checked for three servable calls, want 2 (each at most once)", nd.verified.Load()-before)
	}

	// As leader: the badly signed message is left out of the proposal and its author marked faulty.
	in, err := nd.checkDirect(bad, a)
	if err != nil {
		t.Fatal(err)
	}
	nd.addRound(in.(*roundIn))
	c, err := nd.eng.Propose()
	if err != nil {
		t.Fatal(err)
	}
	held := len(c.Included)
	out := nd.signedOnly(c)
	if len(out.Included) != held-1 {
		t.Fatalf("%d of %d inclusions kept, want all but the badly signed one", len(out.Included), held)
	}
	for _, inc := range out.Included {
		if inc.Digest == engine.Digest(envelopeDigest(bad)) {
			t.Fatal("the badly signed message is still included")
		}
	}
	if !nd.acct.Faulty(a) {
		t.Fatal("the author of a badly signed message is not marked faulty")
	}
	if d, ok := nd.digestOf(out.Included, -1); !ok || d != out.StateDigest {
		t.Fatal("the state digest is not that of the kept messages")
	}
}
