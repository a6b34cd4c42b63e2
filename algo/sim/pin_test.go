package sim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/method"
)

// pinnedFig1Partial is the Figure-1 middle panel's partial series (a9a, 15 + 5 Shift-Back, CM with
// buckets of 2, C = 4 of 20, b = 32, γ = 0.1, λ = 1, one full round every 1000) for seed 1, cut to 1200
// rounds so that it crosses a second full round. Its numbers were computed before the simulator was
// made faster (issue 14) and must never change: the networked peers run the same method.Step and
// `testnet up` checks its curve against the simulator's number for number.
func pinnedFig1Partial() Spec {
	s := Default()
	s.Schedule = 1000
	s.Rounds = 1200
	return s
}

const (
	pinnedDigest = "1cd83a77672909cd5be744183853e47178c3c125605b0aea9368692ea1369ccc"
	pinnedPoints = "56bb0225ee3b513e6f6fc92f9abad4d8557ba32aaed683fb357e20a559ce9e42"
	pinnedGap    = 0x1.b4b715908d98p-07 // 0.013327489404315385
)

// pointsDigest hashes every recorded point's round and the bits of its numbers.
func pointsDigest(points []Point) string {
	h := sha256.New()
	var b [8]byte
	for _, p := range points {
		for _, v := range []uint64{uint64(p.Round), math.Float64bits(p.Epoch), math.Float64bits(p.Loss), math.Float64bits(p.Gap),
			math.Float64bits(p.TestLoss), math.Float64bits(p.TestAccuracy)} {
			binary.LittleEndian.PutUint64(b[:], v)
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestFig1PartialPinned(t *testing.T) {
	res, err := Run(context.Background(), pinnedFig1Partial(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Final.Digest()
	last := res.Points[len(res.Points)-1]
	t.Logf("final digest %x, points %s, gap %v (%#x), %d points, %d clipped", d, pointsDigest(res.Points), last.Gap, math.Float64bits(last.Gap), len(res.Points), res.Clipped)
	if got := hex.EncodeToString(d[:]); got != pinnedDigest {
		t.Errorf("final state digest %s, pinned %s", got, pinnedDigest)
	}
	if got := pointsDigest(res.Points); got != pinnedPoints {
		t.Errorf("recorded points digest %s, pinned %s", got, pinnedPoints)
	}
	if math.Float64bits(last.Gap) != math.Float64bits(pinnedGap) {
		t.Errorf("final gap %v, pinned %v", last.Gap, pinnedGap)
	}
	if last.Round != 1200 || len(res.Points) != 1200/25+1 {
		t.Errorf("last point at round %d, %d points", last.Round, len(res.Points))
	}
}

// TestRunMatchesNetworkPath: the simulator's rounds (reused buffers: method.Workspace, the runner's
// scratch, the scorers) give, state after state, the bits of the path the networked peers take:
// RoundMessages, method.Step, Setup.Objective with fresh memory every round.
func TestRunMatchesNetworkPath(t *testing.T) {
	for _, edit := range []func(*Spec){
		func(s *Spec) {},
		func(s *Spec) { s.Aggregator, s.Attack = "tm", "alie" },
		func(s *Spec) { s.Attack, s.Compressor = "lf", "randk:20" },
		func(s *Spec) { s.Variant, s.Attack, s.Aggregator = "sgdm-clip", "ipm", "cclip" },
	} {
		s := pinnedFig1Partial()
		s.Rounds, s.EvalEvery, s.Schedule = 300, 50, 100
		edit(&s)
		res, err := Run(context.Background(), s, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		st, err := Build(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := NewRunner(st, math.NaN())
		state := method.NewState(st.X0)
		for k := 0; k < s.Rounds; k++ {
			next, _, err := method.Step(&st.Method, s.Seed, state, r.RoundMessages(state))
			if err != nil {
				t.Fatal(err)
			}
			state = next
			if int(state.Round)%s.EvalEvery == 0 {
				p := res.Points[int(state.Round)/s.EvalEvery]
				if loss := st.Objective(state.X); math.Float64bits(loss) != math.Float64bits(p.Loss) || int(state.Round) != p.Round {
					t.Fatalf("%s/%s round %d: objective %v, Run recorded %v at round %d", s.Aggregator, s.Attack, state.Round, loss, p.Loss, p.Round)
				}
			}
		}
		if state.Digest() != res.Final.Digest() {
			t.Errorf("%s/%s: network path ends at %x, Run at %x", s.Aggregator, s.Attack, state.Digest(), res.Final.Digest())
		}
	}
}
