package method

import (
	"math"
	"testing"

	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/data"
	"github.com/byzpp/byzpp/algo/model"
	"github.com/byzpp/byzpp/algo/rng"
	"github.com/byzpp/byzpp/algo/vec"
)

func sameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// TestWorkspaceStepMatchesStep: round after round, Workspace.Step gives Step's states bit for bit, for
// aggregators that write into its buffers and for those that do not, on full and partial rounds.
func TestWorkspaceStepMatchesStep(t *testing.T) {
	for _, spec := range []string{"cm", "bucket2(cm)", "mean", "tm", "bucket2(krum)", "cclip"} {
		c := testConfig(t, spec)
		c.Schedule = 7
		var ws Workspace
		a := NewState([]float64{0.5, -1, 2, 0})
		b := a.Clone()
		for k := range 40 {
			plan := c.PlanRound(3, a.Round)
			r := rng.New(3, uint64(k), rng.Attack, 0)
			var msgs []Message
			for _, m := range plan.Sample {
				v := make([]float64, 4)
				for j := range v {
					v[j] = rng.Normal(r)
				}
				if m%3 == 0 {
					v[1] = math.Copysign(0, -1)
				}
				msgs = append(msgs, Message{m, compress.Dense(v)})
			}
			na, oa, ea := Step(c, 3, a, msgs)
			nb, ob, eb := ws.Step(c, 3, b, msgs)
			if (ea == nil) != (eb == nil) || oa != ob {
				t.Fatalf("%s round %d: Step %v %+v, Workspace.Step %v %+v", spec, k, ea, oa, eb, ob)
			}
			if ea != nil {
				break
			}
			if na.Digest() != nb.Digest() {
				t.Fatalf("%s round %d: states differ: %v %v / %v %v", spec, k, na.X, na.G, nb.X, nb.G)
			}
			a, b = na, nb
		}
	}
}

// TestHonestMessageIntoMatches: HonestMessage, HonestMessageInto with reused buffers and with packed
// rows all give the message written as two Grad calls, a difference and the compressor.
func TestHonestMessageIntoMatches(t *testing.T) {
	d, err := data.Load("a9a", data.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.NormalizeRows()
	m := model.NewLogReg(d.Features, 0.01)
	for _, q := range []string{"none", "randk:10"} {
		c := testConfig(t, "cm")
		c.Compressor, _ = compress.Parse(q)
		st := NewState(make([]float64, d.Features))
		for j := range st.G {
			st.G[j] = float64(j%7) - 3
			st.X[j] = float64(j%5) / 10
		}
		plain := &Member{Index: 3, Model: m, Data: d}
		packed := &Member{Index: 3, Model: m, Data: d, Packed: model.Pack(d)}
		var s1, s2 MessageScratch
		for k := uint64(1); k < 30; k++ {
			st.Round = k
			plan := c.PlanRound(5, k)
			// The message as first written.
			x1 := st.NextPoint(c.LR)
			rows := Minibatch(5, k, 3, d.Rows(), c.Batch)
			want := make([]float64, d.Features)
			old := make([]float64, d.Features)
			if plan.Full {
				m.Grad(x1, d, nil, want)
			} else {
				m.Grad(x1, d, rows, want)
				m.Grad(st.X, d, rows, old)
				vec.Sub(want, want, old)
			}
			var wantVec compress.Vector
			if plan.Full {
				wantVec = compress.Dense(want)
			} else {
				wantVec = c.Compressor.Compress(want, rng.New(5, k, rng.Compress, 3))
			}
			for name, v := range map[string]compress.Vector{
				"HonestMessage":          plain.HonestMessage(c, 5, st, plan, nil),
				"HonestMessageInto":      plain.HonestMessageInto(c, 5, st, nil, plan, nil, &s1),
				"HonestMessageInto pack": packed.HonestMessageInto(c, 5, st, st.NextPoint(c.LR), plan, nil, &s2),
			} {
				if !sameBits(v.ToDense(), wantVec.ToDense()) || len(v.Index) != len(wantVec.Index) {
					t.Fatalf("%s, %s, round %d: message differs", q, name, k)
				}
			}
		}
	}
}
