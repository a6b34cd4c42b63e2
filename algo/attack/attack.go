package attack

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/byzpp/byzpp/algo/compress"
	"github.com/byzpp/byzpp/algo/method"
	"github.com/byzpp/byzpp/algo/rng"
	"github.com/byzpp/byzpp/algo/vec"
)

// ErrSpec is wrapped by every parse error.
var ErrSpec = errors.New("invalid attack")

// View is everything a Byzantine member knows when it crafts its round message.
type View struct {
	Config  *method.Config
	State   *method.State // x^k, g^k
	X0      []float64     // the initial point
	Plan    method.Plan
	Member  int // this Byzantine member
	Members int // n
	Byz     int // B: Byzantine members in the run
	// ByzInSample is the number of Byzantine members in the round's sample.
	ByzInSample int
	// Honest holds the dense messages of the honest sampled members of the round, by member order.
	Honest [][]float64
	// Own returns the message this member would send if it were honest; Flipped the same with labels
	// y → 1 − y. They are functions because most attacks need neither.
	Own     func() compress.Vector
	Flipped func() compress.Vector
	Rand    *rand.Rand // rng.New(seed, round, rng.Attack, member)
}

// Attack crafts a Byzantine member's message. ok = false means send nothing.
type Attack interface {
	Name() string
	Craft(v *View) (msg compress.Vector, ok bool)
}

// Parse builds an attack from a spec such as "shb", "alie", "alie:z=1", "ipm:eps=0.1", "noise:sigma=1".
func Parse(spec string) (Attack, error) {
	name, params, err := splitSpec(spec)
	if err != nil {
		return nil, err
	}
	allow := func(keys ...string) error {
		for k := range params {
			ok := false
			for _, a := range keys {
				ok = ok || k == a
			}
			if !ok {
				return fmt.Errorf("%w: %q does not take parameter %q", ErrSpec, name, k)
			}
		}
		return nil
	}
	switch name {
	case "none", "honest":
		return none{}, allow()
	case "bf", "signflip":
		return signFlip{}, allow()
	case "lf", "labelflip":
		return labelFlip{}, allow()
	case "alie":
		a := alie{z: math.NaN()}
		if v, ok := params["z"]; ok {
			a.z = v
		}
		return a, allow("z")
	case "ipm":
		a := ipm{eps: 0.1}
		if v, ok := params["eps"]; ok {
			a.eps = v
		}
		return a, allow("eps")
	case "shb", "shiftback":
		return shiftBack{}, allow()
	case "noise", "gaussian":
		a := noise{sigma: 1}
		if v, ok := params["sigma"]; ok {
			if !(v >= 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: noise sigma must be finite and ≥ 0, got %v", ErrSpec, v)
			}
			a.sigma = v
		}
		return a, allow("sigma")
	case "mimic":
		return mimic{}, allow()
	case "silent":
		return silent{}, allow()
	}
	return nil, fmt.Errorf("%w: unknown attack %q (want none, bf, lf, alie, ipm, shb, noise, mimic or silent)", ErrSpec, name)
}

// Names lists the attacks Parse accepts.
func Names() []string {
	return []string{"none", "bf", "lf", "alie", "ipm", "shb", "noise", "mimic", "silent"}
}

func splitSpec(spec string) (string, map[string]float64, error) {
	name, rest, has := strings.Cut(strings.TrimSpace(spec), ":")
	name = strings.ToLower(name)
	params := map[string]float64{}
	if !has {
		return name, params, nil
	}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return "", nil, fmt.Errorf("%w: parameter %q of %q is not key=value", ErrSpec, kv, spec)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) {
			return "", nil, fmt.Errorf("%w: parameter %q of %q is not a number", ErrSpec, k, spec)
		}
		params[strings.TrimSpace(k)] = f
	}
	return name, params, nil
}

// NeedsHonest reports whether a crafts its message from the honest sampled members' messages
// (View.Honest): such an attacker has to see them before it sends. The others craft from the state,
// the plan and their own data alone, so they can send as early as an honest member.
func NeedsHonest(a Attack) bool {
	switch a.(type) {
	case alie, ipm, mimic:
		return true
	}
	return false
}

type none struct{}

func (none) Name() string                               { return "none" }
func (none) Craft(v *View) (compress.Vector, bool)      { return v.Own(), true }
func (silent) Craft(*View) (compress.Vector, bool)      { return compress.Vector{}, false }
func (silent) Name() string                             { return "silent" }
func (labelFlip) Name() string                          { return "lf" }
func (labelFlip) Craft(v *View) (compress.Vector, bool) { return v.Flipped(), true }
func (signFlip) Name() string                           { return "bf" }
func (shiftBack) Name() string                          { return "shb" }
func (mimic) Name() string                              { return "mimic" }
func (a ipm) Name() string                              { return fmt.Sprintf("ipm:eps=%g", a.eps) }
func (a noise) Name() string                            { return fmt.Sprintf("noise:sigma=%g", a.sigma) }

type (
	silent    struct{}
	labelFlip struct{}
	signFlip  struct{}
	shiftBack struct{}
	mimic     struct{}
	ipm       struct{ eps float64 }
	noise     struct{ sigma float64 }
	alie      struct{ z float64 } // NaN: from the formula
)

func (signFlip) Craft(v *View) (compress.Vector, bool) {
	m := v.Own()
	out := compress.Vector{Dim: m.Dim, Index: m.Index, Values: vec.Clone(m.Values)}
	vec.Scale(-1, out.Values)
	return out, true
}

func (mimic) Craft(v *View) (compress.Vector, bool) {
	if len(v.Honest) == 0 {
		return v.Own(), true
	}
	return compress.Dense(vec.Clone(v.Honest[0])), true
}

func (a ipm) Craft(v *View) (compress.Vector, bool) {
	mu := honestMean(v)
	vec.Scale(-a.eps, mu)
	return compress.Dense(mu), true
}

func (a noise) Craft(v *View) (compress.Vector, bool) {
	out := make([]float64, len(v.State.X))
	for i := range out {
		out[i] = a.sigma * rng.Normal(v.Rand)
	}
	return compress.Dense(out), true
}

// shiftBack sends m with g^k + m = (x^{k+1} − x^0)/γ on a partial round (m = (x^{k+1} − x^0)/γ on a
// full round): if the aggregate equals m, the next point x^{k+2} = x^{k+1} − γ g^{k+1} is exactly x^0.
func (shiftBack) Craft(v *View) (compress.Vector, bool) {
	if 2*v.ByzInSample <= len(v.Plan.Sample) {
		return v.Own(), true
	}
	c := v.Config
	x1 := v.State.NextPoint(c.LR)
	m := make([]float64, len(x1))
	vec.Sub(m, x1, v.X0)
	vec.Scale(1/c.LR, m)
	if !v.Plan.Full && c.Variant != method.VariantSGDM {
		vec.Sub(m, m, v.State.G)
	}
	return compress.Dense(m), true
}

func (a alie) Name() string {
	if math.IsNaN(a.z) {
		return "alie"
	}
	return fmt.Sprintf("alie:z=%g", a.z)
}

// ALIEZ is z of "A Little Is Enough": Φ⁻¹((n − B − s)/(n − B)) with s = ⌊n/2 + 1⌋ − B, the largest
// shift that still keeps the Byzantine vectors inside the honest majority's spread.
func ALIEZ(n, byz int) float64 {
	s := n/2 + 1 - byz
	honest := n - byz
	if honest <= 0 {
		return 0
	}
	q := float64(honest-s) / float64(honest)
	q = math.Min(math.Max(q, 1e-12), 1-1e-12)
	return math.Sqrt2 * math.Erfinv(2*q-1)
}

func (a alie) Craft(v *View) (compress.Vector, bool) {
	if len(v.Honest) == 0 {
		return v.Own(), true
	}
	z := a.z
	if math.IsNaN(z) {
		z = ALIEZ(v.Members, v.Byz)
	}
	mu := honestMean(v)
	out := make([]float64, len(mu))
	n := float64(len(v.Honest))
	for j := range out {
		var ss float64
		for _, h := range v.Honest {
			d := h[j] - mu[j]
			ss = float64(d*d) + ss
		}
		out[j] = mu[j] - z*math.Sqrt(ss/n)
	}
	return compress.Dense(out), true
}

func honestMean(v *View) []float64 {
	mu := make([]float64, len(v.State.X))
	if len(v.Honest) == 0 {
		return vec.Clone(v.Own().ToDense())
	}
	vec.Mean(mu, v.Honest)
	return mu
}
