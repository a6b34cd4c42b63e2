package sim

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/byzpp/byzpp/algo/attack"
	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/model"
	"github.com/byzpp/byzpp/algo/rng"
)

// Point is one recorded measurement of a run.
type Point struct {
	Round int     // rounds completed
	Epoch float64 // average passes an honest member made over its data in partial rounds (the paper's x-axis)
	Loss  float64 // f(x^k) of the honest objective
	Gap   float64 // Loss − f*, NaN when f* is unknown
	// TestLoss is the same objective (penalty included) on the held-out set, TestAccuracy the
	// fraction of it classified correctly (model.Accuracy); NaN without a held-out set.
	TestLoss, TestAccuracy float64
}

// Result is the outcome of one run.
type Result struct {
	Points  []Point
	Final   *method.State
	Clipped int // messages clipped over the run
	Full    int // full rounds
	// Diverged is the round at which the model overflowed (0: it did not); the run stops there.
	Diverged int
}

// Runner executes the rounds of one Setup. It is also the reference the networked peers are tested
// against: RoundMessages gives exactly what the members of a round send.
type Runner struct {
	Setup   *Setup
	Members []*method.Member
	FStar   float64
	// Test, if set, is scored at every recorded point (Point.TestLoss, Point.TestAccuracy).
	Test *data.Dataset
}

// NewRunner prepares the members of a setup. fstar may be NaN.
func NewRunner(st *Setup, fstar float64) *Runner {
	r := &Runner{Setup: st, FStar: fstar}
	for i, sh := range st.Shards {
		r.Members = append(r.Members, &method.Member{Index: i, Model: st.Model, Data: sh})
	}
	return r
}

// RoundMessages returns the messages of round st.Round's sample, sorted by member: honest members'
// honest messages and Byzantine members' crafted ones (silent members send none).
func (r *Runner) RoundMessages(st *method.State) []method.Message {
	s := r.Setup
	c := &s.Method
	seed := s.Spec.Seed
	plan := c.PlanRound(seed, st.Round)
	var msgs []method.Message
	var honest [][]float64
	byzInSample := 0
	// On a full round a member's message is its full gradient at x^{k+1}: members holding the same
	// shard (every member, in the paper's setting) send the same vector, so compute it once.
	fullGrads := map[*data.Dataset]compress.Vector{}
	honestMessage := func(i int, d *data.Dataset) compress.Vector {
		if !plan.Full || d != nil {
			return r.Members[i].HonestMessage(c, seed, st, plan, d)
		}
		shard := r.Members[i].Data
		if v, ok := fullGrads[shard]; ok {
			return v
		}
		v := r.Members[i].HonestMessage(c, seed, st, plan, nil)
		fullGrads[shard] = v
		return v
	}
	for _, i := range plan.Sample {
		if s.Byzantine[i] {
			byzInSample++
			continue
		}
		v := honestMessage(i, nil)
		msgs = append(msgs, method.Message{Member: i, Vec: v})
		honest = append(honest, v.ToDense())
	}
	for _, i := range plan.Sample {
		if !s.Byzantine[i] {
			continue
		}
		view := &attack.View{
			Config: c, State: st, X0: s.X0, Plan: plan, Member: i,
			Members: s.Spec.Members, Byz: s.Spec.Byzantine, ByzInSample: byzInSample,
			Honest:  honest,
			Own:     func() compress.Vector { return honestMessage(i, nil) },
			Flipped: func() compress.Vector { return honestMessage(i, s.FlippedShard(i)) },
			Rand:    rng.New(seed, st.Round, rng.Attack, uint64(i)),
		}
		// A message that is not a finite vector of the right size never reaches the model: on the
		// network every peer's validator rejects it, here it is dropped the same way.
		if v, ok := s.Attack.Craft(view); ok && v.Validate(s.Model.Dim()) == nil {
			msgs = append(msgs, method.Message{Member: i, Vec: v})
		}
	}
	sortMessages(msgs)
	return msgs
}

func sortMessages(msgs []method.Message) {
	// Insertion sort: a sample is small, and the order must be by member for method.Step.
	for i := 1; i < len(msgs); i++ {
		for j := i; j > 0 && msgs[j].Member < msgs[j-1].Member; j-- {
			msgs[j], msgs[j-1] = msgs[j-1], msgs[j]
		}
	}
}

// EpochIncrement is how much the average honest member's pass count grows in a round with this plan:
// each sampled honest member's minibatch is b/m_i of its data; anchor full rounds are not counted, as in
// the paper's plots. The networked peers use it too, so their curves have the same x-axis.
func EpochIncrement(s *Setup, plan method.Plan) float64 {
	if plan.Full {
		return 0
	}
	var sum float64
	honest := 0
	for i := range s.Shards {
		if !s.Byzantine[i] {
			honest++
		}
	}
	for _, i := range plan.Sample {
		if !s.Byzantine[i] {
			rows := s.Shards[i].Rows()
			sum += float64(min(s.Method.Batch, rows)) / float64(rows)
		}
	}
	return sum / float64(honest)
}

// Run trains for the spec's number of rounds. progress, if not nil, is called after every round.
func (r *Runner) Run(ctx context.Context, progress func(round int)) (*Result, error) {
	s := r.Setup
	st := method.NewState(s.X0)
	res := &Result{}
	epoch := 0.0
	record := func() {
		loss := s.Objective(st.X)
		tl, ta := r.Score(st.X)
		res.Points = append(res.Points, Point{Round: int(st.Round), Epoch: epoch, Loss: loss, Gap: loss - r.FStar, TestLoss: tl, TestAccuracy: ta})
	}
	record()
	for k := 0; k < s.Spec.Rounds; k++ {
		if k%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		plan := s.Method.PlanRound(s.Spec.Seed, st.Round)
		msgs := r.RoundMessages(st)
		next, out, err := method.Step(&s.Method, s.Spec.Seed, st, msgs)
		if errors.Is(err, method.ErrMessage) {
			// Only honest messages can still be malformed here: they are, when the model has
			// diverged so far that gradients overflow. Record that and stop.
			res.Diverged = int(st.Round)
			testLoss := math.NaN()
			if r.Test != nil {
				testLoss = math.Inf(1)
			}
			res.Points = append(res.Points, Point{Round: int(st.Round), Epoch: epoch, Loss: math.Inf(1), Gap: math.Inf(1),
				TestLoss: testLoss, TestAccuracy: math.NaN()})
			if progress != nil {
				progress(s.Spec.Rounds)
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", st.Round, err)
		}
		st = next
		epoch += EpochIncrement(s, plan)
		res.Clipped += out.Clipped
		if out.Full {
			res.Full++
		}
		if int(st.Round)%s.Spec.EvalEvery == 0 || k == s.Spec.Rounds-1 {
			record()
		}
		if progress != nil {
			progress(k + 1)
		}
	}
	res.Final = st
	return res, nil
}

// Score returns the objective and the accuracy of x on the held-out set (NaN, NaN without one).
func (r *Runner) Score(x []float64) (loss, accuracy float64) {
	if r.Test == nil {
		return math.NaN(), math.NaN()
	}
	return r.Setup.Model.Loss(x, r.Test, nil), model.Accuracy(r.Setup.Model, x, r.Test)
}

// Run builds and runs one spec, computing f* (cached) for the gap and scoring the spec's held-out set.
func Run(ctx context.Context, s Spec, cache *DataCache, progress func(round int)) (*Result, error) {
	if cache == nil {
		cache = &DataCache{}
	}
	st, err := Build(s, cache)
	if err != nil {
		return nil, err
	}
	fstar, err := st.FStar()
	if err != nil {
		fstar = math.NaN()
	}
	r := NewRunner(st, fstar)
	if r.Test, err = cache.LoadTest(&st.Spec, st.Dataset, st.Model); err != nil {
		return nil, err
	}
	return r.Run(ctx, progress)
}

// RoundsForEpochs returns how many rounds make the average honest member pass over its data epochs
// times in expectation, counting partial rounds' minibatches as the paper's plots do.
func RoundsForEpochs(st *Setup, epochs float64) int {
	c := &st.Method
	fullFrac := 0.0
	if c.Variant == method.VariantMarinaPP {
		fullFrac = c.P
		if c.Schedule > 0 {
			fullFrac = 1 / float64(c.Schedule)
		}
	}
	var perRound float64
	honest := 0
	for i, sh := range st.Shards {
		if st.Byzantine[i] {
			continue
		}
		honest++
		rows := sh.Rows()
		perRound += float64(c.Sampled) / float64(c.Members) * float64(min(c.Batch, rows)) / float64(rows)
	}
	perRound *= (1 - fullFrac) / float64(honest)
	if !(perRound > 0) {
		return 1
	}
	return max(1, int(math.Ceil(epochs/perRound)))
}
