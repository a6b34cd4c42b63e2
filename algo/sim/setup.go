package sim

import (
	"fmt"
	"sync"

	"github.com/byzpp/byzpp/algo/agg"
	"github.com/byzpp/byzpp/algo/attack"
	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/model"
)

// Setup is a Spec turned into the objects that run it.
type Setup struct {
	Spec      Spec
	Method    method.Config
	Model     model.Model
	Dataset   *data.Dataset   // the whole data set
	Shards    []*data.Dataset // shard of each member
	Flipped   []*data.Dataset // the same shards with labels flipped (label-flip attack), built lazily
	Byzantine []bool          // per member
	Attack    attack.Attack
	X0        []float64

	flipOnce sync.Once

	packOnce sync.Once
	packs    map[*data.Dataset]*model.Packed // model.Pack of each shard (nil: does not pack)

	objectiveOnce   sync.Once
	objectiveShards []objectiveShard // distinct honest shards in order of first appearance

	scorersOnce sync.Once
	scorers     []*model.Scorer // per objective shard, for Objective only (a run scores with its own)
}

// objectiveShard is one distinct honest shard of the objective and how many honest members hold it.
type objectiveShard struct {
	d     *data.Dataset
	count int
}

// DataCache loads each data set once per process: series of one experiment share it read-only.
// Different data sets load at the same time (a run's training and held-out sets on two cores).
type DataCache struct {
	mu    sync.Mutex
	cache map[string]*cachedData
}

// cachedData is one data set of a DataCache, loaded by the first caller asking for it.
type cachedData struct {
	once sync.Once
	d    *data.Dataset
	err  error
}

// Load returns the (possibly normalised) data set for spec, loading it on first use.
func (c *DataCache) Load(s *Spec) (*data.Dataset, error) {
	key := fmt.Sprintf("%s|%d|%t", s.Data, s.Features, s.Normalize)
	c.mu.Lock()
	if c.cache == nil {
		c.cache = map[string]*cachedData{}
	}
	e, ok := c.cache[key]
	if !ok {
		e = &cachedData{}
		c.cache[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		d, err := data.Load(s.Data, data.ReadOptions{Features: s.Features})
		if err != nil {
			e.err = fmt.Errorf("loading data %q: %w", s.Data, err)
			return
		}
		if s.Normalize {
			d.NormalizeRows()
		}
		e.d = d
	})
	return e.d, e.err
}

// NoTestData is the Spec.TestData that asks for no held-out set.
const NoTestData = "none"

// TestDataName resolves Spec.TestData: the data set to load, or "" for none.
func (s *Spec) TestDataName() string {
	switch s.TestData {
	case NoTestData:
		return ""
	case "":
		name, _ := data.TestSetOf(s.Data)
		return name
	}
	return s.TestData
}

// LoadTest returns the held-out set of spec (nil when it has none), read with train's feature count and
// scaled like train when the spec normalises rows, and checked against m.
func (c *DataCache) LoadTest(s *Spec, train *data.Dataset, m model.Model) (*data.Dataset, error) {
	name := s.TestDataName()
	if name == "" {
		return nil, nil
	}
	t := *s
	t.Data, t.Features = name, train.Features
	d, err := c.Load(&t)
	if err != nil {
		return nil, fmt.Errorf("test data: %w", err)
	}
	if err := model.Check(m, d); err != nil {
		return nil, fmt.Errorf("test data %q: %w", name, err)
	}
	return d, nil
}

// Build resolves a Spec. cache may be nil.
func Build(s Spec, cache *DataCache) (*Setup, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if cache == nil {
		cache = &DataCache{}
	}
	d, err := cache.Load(&s)
	if err != nil {
		return nil, err
	}
	mode, err := data.ParseSplitMode(s.Split)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	shards, err := data.Split(d, s.Members, mode, s.Seed)
	if err != nil {
		return nil, fmt.Errorf("splitting data: %w", err)
	}
	m, err := model.New(s.Model, d.Features, s.Hidden, s.L2)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	a, err := agg.Parse(s.Aggregator)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	a = agg.Bucketing(a, s.Bucket)
	q, err := compress.Parse(s.Compressor)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	att, err := attack.Parse(s.Attack)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	f := s.AggByzantine
	if f < 0 {
		f = s.Byzantine
	}
	mc := method.Config{
		Variant: s.Variant, Members: s.Members, Sampled: s.Sampled(),
		P: s.P, Schedule: s.Schedule, LR: s.LR, Lambda: float64(s.Lambda), Batch: s.Batch,
		Momentum: s.Momentum, Aggregator: a, Compressor: q, Byzantine: f,
	}
	if err := mc.Validate(); err != nil {
		return nil, err
	}
	byz := make([]bool, s.Members)
	for i := s.Members - s.Byzantine; i < s.Members; i++ {
		byz[i] = true
	}
	return &Setup{
		Spec: s, Method: mc, Model: m, Dataset: d, Shards: shards, Byzantine: byz, Attack: att,
		X0: m.Init(s.Seed),
	}, nil
}

// packed returns model.Pack(sh) for a shard of st (nil when it does not pack or the model is not
// logistic regression), packing each distinct shard once.
func (st *Setup) packed(sh *data.Dataset) *model.Packed {
	st.packOnce.Do(func() {
		st.packs = map[*data.Dataset]*model.Packed{}
		if _, ok := st.Model.(*model.LogReg); !ok {
			return
		}
		for _, d := range st.Shards {
			if _, done := st.packs[d]; !done {
				st.packs[d] = model.Pack(d)
			}
		}
	})
	return st.packs[sh]
}

// HonestShards returns the shards of the honest members (the objective f averages over them).
func (st *Setup) HonestShards() []*data.Dataset {
	var out []*data.Dataset
	for i, sh := range st.Shards {
		if !st.Byzantine[i] {
			out = append(out, sh)
		}
	}
	return out
}

// FlippedShard returns member i's shard with labels y → 1 − y.
func (st *Setup) FlippedShard(i int) *data.Dataset {
	st.flipOnce.Do(func() {
		st.Flipped = make([]*data.Dataset, len(st.Shards))
		seen := map[*data.Dataset]*data.Dataset{}
		for j, sh := range st.Shards {
			if f, ok := seen[sh]; ok {
				st.Flipped[j] = f
				continue
			}
			f := *sh
			f.Labels = make([]float64, len(sh.Labels))
			for r, y := range sh.Labels {
				f.Labels[r] = 1 - y
			}
			st.Flipped[j] = &f
			seen[sh] = &f
		}
	})
	return st.Flipped[i]
}

// Objective evaluates f(x) = (1/G) Σ_{i honest} f_i(x), computing each distinct shard once (by a
// model.Scorer: the bits of Model.Loss over the whole shard, in less time). It is safe for concurrent
// use.
func (st *Setup) Objective(x []float64) float64 {
	shards := st.distinctHonest()
	// The scorers are made on first use: a Run never calls Objective (its evaluator has one Scorer for
	// the shards and the held-out set), and a trie over a9a costs as much as twenty points' scores.
	st.scorersOnce.Do(func() {
		for _, sh := range shards {
			st.scorers = append(st.scorers, model.NewScorer(st.Model, sh.d))
		}
	})
	losses := make([]float64, len(shards))
	for i, sc := range st.scorers {
		losses[i] = sc.Loss(x)
	}
	return objectiveOf(shards, losses)
}

// distinctHonest returns the distinct honest shards with their counts, made on first use.
func (st *Setup) distinctHonest() []objectiveShard {
	st.objectiveOnce.Do(func() {
		index := map[*data.Dataset]int{}
		for _, sh := range st.HonestShards() {
			i, ok := index[sh]
			if !ok {
				i = len(st.objectiveShards)
				index[sh] = i
				st.objectiveShards = append(st.objectiveShards, objectiveShard{d: sh})
			}
			st.objectiveShards[i].count++
		}
	})
	return st.objectiveShards
}

// objectiveOf is f from the loss of each distinct honest shard: Σ count·loss / G, summed in shard
// order. Objective and the runner's scoring both go through it, so they give the same bits.
func objectiveOf(shards []objectiveShard, losses []float64) float64 {
	var total float64
	n := 0
	for i, sh := range shards {
		total += float64(sh.count) * losses[i]
		n += sh.count
	}
	return total / float64(n)
}

// FStar returns the optimum of the honest objective (cached on disk by package model).
func (st *Setup) FStar() (float64, error) {
	return model.FStar(st.Model, st.HonestShards())
}
