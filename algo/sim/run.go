package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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
	Timings  Timings
}

// Runner executes the rounds of one Setup. It is also the reference the networked peers are tested
// against: RoundMessages gives exactly what the members of a round send.
type Runner struct {
	Setup   *Setup
	Members []*method.Member
	FStar   float64
	// Test, if set, is scored at every recorded point (Point.TestLoss, Point.TestAccuracy).
	Test *data.Dataset

	testMu     sync.Mutex
	testScorer *model.Scorer // of testScored
	testScored *data.Dataset

	// fstarOf, if set, computes FStar on the scoring goroutine while the rounds go on (only the gaps
	// need it, and they are filled in after the last round); Run sets FStar from it. loadTest, if set,
	// loads Test there first (only the scores need it); the rounds stop if it fails.
	fstarOf  func() float64
	loadTest func() (*data.Dataset, error)
}

// NewRunner prepares the members of a setup. fstar may be NaN.
func NewRunner(st *Setup, fstar float64) *Runner {
	r := &Runner{Setup: st, FStar: fstar}
	for i, sh := range st.Shards {
		r.Members = append(r.Members, &method.Member{Index: i, Model: st.Model, Data: sh, Packed: st.packed(sh)})
	}
	return r
}

// RoundMessages returns the messages of round st.Round's sample, sorted by member: honest members'
// honest messages and Byzantine members' crafted ones (silent members send none).
func (r *Runner) RoundMessages(st *method.State) []method.Message {
	var rs roundScratch
	plan := r.Setup.Method.PlanRound(r.Setup.Spec.Seed, st.Round)
	return r.roundMessages(st, plan, &rs)
}

// roundScratch holds what computing a round's messages needs, reused from round to round by Run. A
// message returned by roundMessages may share memory with it until the next call.
type roundScratch struct {
	x1        []float64
	own, flip []method.MessageScratch // per member: its honest message, and the label-flipped one
	msgs      []method.Message
	honest    [][]float64
	dense     []float64 // backing of honest
	full      []fullGrad
	attack    rng.Stream
	view      attack.View

	// The round being computed, for honestMessage and the view's Own and Flipped, which are made
	// once per scratch rather than per message.
	r      *Runner
	st     *method.State
	plan   method.Plan
	member int
}

// honestMessage returns member i's honest message of the current round, on d (nil: its own shard).
// On a full round a member's message is its full gradient at x^{k+1}: members holding the same shard
// (every member, in the paper's setting) send the same vector, so it is computed once.
func (rs *roundScratch) honestMessage(i int, d *data.Dataset) compress.Vector {
	r, plan := rs.r, rs.plan
	c, seed := &r.Setup.Method, r.Setup.Spec.Seed
	if !plan.Full || d != nil {
		sc := &rs.own[i]
		if d != nil {
			sc = &rs.flip[i]
		}
		return r.Members[i].HonestMessageInto(c, seed, rs.st, rs.x1, plan, d, sc)
	}
	shard := r.Members[i].Data
	for _, f := range rs.full {
		if f.shard == shard {
			return f.vec
		}
	}
	v := r.Members[i].HonestMessageInto(c, seed, rs.st, rs.x1, plan, nil, &rs.own[i])
	rs.full = append(rs.full, fullGrad{shard, v})
	return v
}

// fullGrad is the full-round message computed for a shard (members holding the same shard send the
// same vector).
type fullGrad struct {
	shard *data.Dataset
	vec   compress.Vector
}

// roundMessages is RoundMessages for the round's plan (c.PlanRound(seed, st.Round)), computed in rs.
func (r *Runner) roundMessages(st *method.State, plan method.Plan, rs *roundScratch) []method.Message {
	s := r.Setup
	c := &s.Method
	seed := s.Spec.Seed
	n := len(r.Members)
	if len(rs.own) < n {
		rs.own = make([]method.MessageScratch, n)
		rs.flip = make([]method.MessageScratch, n)
	}
	rs.x1 = st.NextPointInto(rs.x1, c.LR)
	msgs := rs.msgs[:0]
	honest := rs.honest[:0]
	rs.full = rs.full[:0]
	dim := len(st.X)
	byzInSample := 0
	if rs.r != r {
		rs.r = r
		rs.view.Own = func() compress.Vector { return rs.honestMessage(rs.member, nil) }
		rs.view.Flipped = func() compress.Vector { return rs.honestMessage(rs.member, r.Setup.FlippedShard(rs.member)) }
	}
	rs.st, rs.plan = st, plan
	for _, i := range plan.Sample {
		if !s.Byzantine[i] {
			continue
		}
		byzInSample++
	}
	if cap(rs.dense) < (len(plan.Sample)-byzInSample)*dim {
		rs.dense = make([]float64, (len(plan.Sample)-byzInSample)*dim)
	}
	for _, i := range plan.Sample {
		if s.Byzantine[i] {
			continue
		}
		v := rs.honestMessage(i, nil)
		msgs = append(msgs, method.Message{Member: i, Vec: v})
		h := rs.dense[len(honest)*dim : (len(honest)+1)*dim : (len(honest)+1)*dim]
		clear(h) // then h = 0 + v, what ToDense gives
		v.AddTo(h)
		honest = append(honest, h)
	}
	for _, i := range plan.Sample {
		if !s.Byzantine[i] {
			continue
		}
		rs.member = i
		view := &rs.view
		*view = attack.View{
			Config: c, State: st, X0: s.X0, Plan: plan, Member: i,
			Members: s.Spec.Members, Byz: s.Spec.Byzantine, ByzInSample: byzInSample,
			Honest:  honest,
			Own:     view.Own,
			Flipped: view.Flipped,
			Rand:    rs.attack.Reset(seed, st.Round, rng.Attack, uint64(i)),
		}
		// A message that is not a finite vector of the right size never reaches the model: on the
		// network every peer's validator rejects it, here it is dropped the same way.
		if v, ok := s.Attack.Craft(view); ok && v.Validate(s.Model.Dim()) == nil {
			msgs = append(msgs, method.Message{Member: i, Vec: v})
		}
	}
	sortMessages(msgs)
	rs.msgs, rs.honest = msgs, honest
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
//
// The recorded points are scored on another goroutine while the rounds go on (the scores are pure
// functions of the recorded x^k, so they are the same numbers whenever they are computed); Run waits
// for the last of them before it returns.
func (r *Runner) Run(ctx context.Context, progress func(round int)) (*Result, error) {
	started := time.Now()
	s := r.Setup
	st := method.NewState(s.X0)
	res := &Result{}
	ev := r.startEvaluator(s.Spec.Rounds/s.Spec.EvalEvery + 2)
	defer ev.stop()
	// The rounds reuse their buffers: a state from ws lives until the call after next, the messages
	// until the next round.
	var (
		ws     method.Workspace
		rs     roundScratch
		stream rng.Stream
		sample []int
	)
	epoch := 0.0
	record := func() {
		res.Points = append(res.Points, Point{Round: int(st.Round), Epoch: epoch})
		ev.submit(st.X)
	}
	record()
	for k := 0; k < s.Spec.Rounds; k++ {
		if k%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := ev.failed(); err != nil {
				return nil, err
			}
		}
		plan := s.Method.PlanRoundInto(s.Spec.Seed, st.Round, sample, &stream)
		sample = plan.Sample
		msgs := r.roundMessages(st, plan, &rs)
		next, out, err := ws.Step(&s.Method, s.Spec.Seed, st, msgs)
		if errors.Is(err, method.ErrMessage) {
			// Only honest messages can still be malformed here: they are, when the model has
			// diverged so far that gradients overflow. Record that and stop.
			res.Diverged = int(st.Round)
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
	res.Timings.Rounds = time.Since(started)
	waited := time.Now()
	scores := ev.wait()
	if err := ev.failed(); err != nil {
		return nil, err
	}
	res.Timings.Wait = time.Since(waited)
	res.Timings.Scoring = ev.busy // both goroutines' time
	if r.fstarOf != nil {
		r.FStar, res.Timings.FStar = ev.fstar, ev.fstarTime
	}
	for i := range res.Points {
		p := &res.Points[i]
		p.Loss, p.TestLoss, p.TestAccuracy = scores[i].loss, scores[i].testLoss, scores[i].testAccuracy
		p.Gap = p.Loss - r.FStar
	}
	if res.Diverged > 0 {
		testLoss := math.NaN()
		if r.Test != nil {
			testLoss = math.Inf(1)
		}
		res.Points = append(res.Points, Point{Round: res.Diverged, Epoch: epoch, Loss: math.Inf(1), Gap: math.Inf(1),
			TestLoss: testLoss, TestAccuracy: math.NaN()})
	}
	res.Final = st.Clone()
	return res, nil
}

// Timings is where a run's time went.
type Timings struct {
	Setup  time.Duration // Build: data (loaded or from the cache), shards, model
	FStar  time.Duration // the held-out set and f* (normally from its cache), on the scoring goroutine during the rounds
	Rounds time.Duration // the rounds, wall time
	// Scoring is the time spent scoring the recorded points (objective and held-out set) on the
	// scoring goroutine, alongside the rounds; Wait is how long the run waited for it after its last
	// round.
	Scoring, Wait time.Duration
}

// Add returns the sum of two Timings.
func (t Timings) Add(u Timings) Timings {
	return Timings{Setup: t.Setup + u.Setup, FStar: t.FStar + u.FStar, Rounds: t.Rounds + u.Rounds,
		Scoring: t.Scoring + u.Scoring, Wait: t.Wait + u.Wait}
}

// score is what the evaluator computes for one recorded point.
type score struct{ loss, testLoss, testAccuracy float64 }

// evalItem is one recorded point waiting for its score.
type evalItem struct {
	x     []float64
	score score
}

// evaluator scores recorded points on a goroutine of its own while the rounds go on; when they are
// over, the rounds' goroutine scores what is left alongside it (wait). Each point's score is stored
// with the point, so the order in which they are scored does not matter.
type evaluator struct {
	r       *Runner
	dim     int
	backing []float64 // copies of the submitted points, dim each
	items   []*evalItem
	pending chan *evalItem
	done    chan struct{}
	stopped bool

	prepared chan struct{} // closed when prepare is done

	once   sync.Once
	scorer *model.Scorer // the held-out set (first, the only accuracy wanted) and the distinct honest shards
	shards []objectiveShard

	mu   sync.Mutex
	busy time.Duration

	fstar     float64 // r.fstarOf(), computed before the first score; read after done
	fstarTime time.Duration
	loadErr   atomic.Pointer[error] // r.loadTest failed
}

// failed returns the error of loading the held-out set, if it failed.
func (ev *evaluator) failed() error {
	if p := ev.loadErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (r *Runner) startEvaluator(capacity int) *evaluator {
	dim := len(r.Setup.X0)
	ev := &evaluator{r: r, dim: dim, backing: make([]float64, 0, capacity*dim), items: make([]*evalItem, 0, capacity),
		pending: make(chan *evalItem, capacity), done: make(chan struct{}), prepared: make(chan struct{})}
	go func() {
		defer close(ev.done)
		ev.prepare()
		ev.work()
	}()
	return ev
}

// prepare loads the held-out set and computes f*, when the runner leaves them to the evaluator.
func (ev *evaluator) prepare() {
	defer close(ev.prepared)
	t := time.Now()
	defer func() { ev.fstarTime = time.Since(t) }()
	r := ev.r
	if r.loadTest != nil {
		var err error
		if r.Test, err = r.loadTest(); err != nil {
			ev.loadErr.Store(&err)
			return
		}
	}
	if r.fstarOf != nil {
		ev.fstar = r.fstarOf()
	}
}

// work scores pending points until there are none left and no more will come (once prepare is done;
// nothing if it failed).
func (ev *evaluator) work() {
	<-ev.prepared
	if ev.failed() != nil {
		for range ev.pending {
		}
		return
	}
	var busy time.Duration
	losses := make([]float64, 0, 4)
	for it := range ev.pending {
		t := time.Now()
		ev.once.Do(func() {
			// One scorer for the held-out set and the distinct honest shards: their rows share a trie.
			r := ev.r
			ev.shards = r.Setup.distinctHonest()
			var ds []*data.Dataset
			if r.Test != nil {
				ds = append(ds, r.Test)
			}
			for _, sh := range ev.shards {
				ds = append(ds, sh.d)
			}
			ev.scorer = model.NewScorer(r.Setup.Model, ds...)
		})
		p := score{testLoss: math.NaN(), testAccuracy: math.NaN()}
		if ev.r.Test != nil {
			losses = append(losses[:0], make([]float64, 1+len(ev.shards))...)
			var acc [1]float64
			ev.scorer.Scores(it.x, losses, acc[:])
			p.loss = objectiveOf(ev.shards, losses[1:])
			p.testLoss, p.testAccuracy = losses[0], acc[0]
		} else {
			losses = append(losses[:0], make([]float64, len(ev.shards))...)
			ev.scorer.Scores(it.x, losses, nil)
			p.loss = objectiveOf(ev.shards, losses)
		}
		it.score = p
		busy += time.Since(t)
	}
	ev.mu.Lock()
	ev.busy += busy
	ev.mu.Unlock()
}

// submit queues a copy of x. Points beyond the capacity given at the start are copied separately, and
// the channel then blocks until the evaluator catches up; neither happens in a run of Spec.Rounds.
func (ev *evaluator) submit(x []float64) {
	var c []float64
	if len(ev.backing)+ev.dim <= cap(ev.backing) {
		n := len(ev.backing)
		ev.backing = append(ev.backing, x...)
		c = ev.backing[n : n+ev.dim : n+ev.dim]
	} else {
		c = slices.Clone(x)
	}
	it := &evalItem{x: c}
	ev.items = append(ev.items, it)
	ev.pending <- it
}

// wait scores what is still pending on this goroutine too and returns the scores of every submitted
// point, in order.
func (ev *evaluator) wait() []score {
	ev.stop()
	ev.work()
	<-ev.done
	scores := make([]score, len(ev.items))
	for i, it := range ev.items {
		scores[i] = it.score
	}
	return scores
}

// stop lets the evaluator goroutine end once it has scored what was submitted (Run defers it, so an
// early return does not leave the goroutine behind).
func (ev *evaluator) stop() {
	if !ev.stopped {
		ev.stopped = true
		close(ev.pending)
	}
}

// Score returns the objective and the accuracy of x on the held-out set (NaN, NaN without one), by a
// model.Scorer of r.Test: the bits of Model.Loss and model.Accuracy. It is safe for concurrent use.
func (r *Runner) Score(x []float64) (loss, accuracy float64) {
	if r.Test == nil {
		return math.NaN(), math.NaN()
	}
	r.testMu.Lock()
	if r.testScorer == nil || r.testScored != r.Test {
		r.testScorer, r.testScored = model.NewScorer(r.Setup.Model, r.Test), r.Test
	}
	sc := r.testScorer
	r.testMu.Unlock()
	return sc.Score(x)
}

// Run builds and runs one spec, computing f* (cached) for the gap and scoring the spec's held-out set.
// The held-out set is loaded and f* computed on the scoring goroutine while the rounds go on.
func Run(ctx context.Context, s Spec, cache *DataCache, progress func(round int)) (*Result, error) {
	if cache == nil {
		cache = &DataCache{}
	}
	t0 := time.Now()
	st, err := Build(s, cache)
	if err != nil {
		return nil, err
	}
	r := NewRunner(st, math.NaN())
	r.fstarOf = func() float64 {
		fstar, err := st.FStar()
		if err != nil {
			return math.NaN()
		}
		return fstar
	}
	r.loadTest = func() (*data.Dataset, error) { return cache.LoadTest(&st.Spec, st.Dataset, st.Model) }
	setup := time.Since(t0)
	res, err := r.Run(ctx, progress)
	if res != nil {
		res.Timings.Setup = setup
	}
	return res, err
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
