package up

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/byzpp/byzpp/testnet/curves"
)

func TestSplitAttacks(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "shb", want: []string{"shb"}},
		{in: "alie, ipm:eps=0.5,spam", want: []string{"alie", "ipm:eps=0.5", "spam"}},
		{in: "noise:sigma=2,equivocate", want: []string{"noise:sigma=2", "equivocate"}},
		{in: "alie:z=1,scale=2", err: true}, // the continuation joins alie, which takes no "scale"
		{in: "alie+censor,equivocate+spam", want: []string{"alie+censor", "equivocate+spam"}},
		{in: "double-vote,wrong-digest,mute", want: []string{"double-vote", "wrong-digest", "mute"}},
		{in: "badsig-votes,falsestate-older+vote-flood", want: []string{"badsig-votes", "falsestate-older+vote-flood"}},
		{in: "", err: true},
		{in: "shb,,alie", err: true},
		{in: "nosuch", err: true},
		{in: "alie+shb", err: true}, // two learning-level attacks on one peer
		{in: "sigma=1", err: true},
	} {
		got, err := SplitAttacks(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("SplitAttacks(%q): err = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err != nil && !errors.Is(err, ErrOptions) {
			t.Errorf("SplitAttacks(%q): %v does not wrap ErrOptions", tc.in, err)
		}
		if !tc.err && !slices.Equal(got, tc.want) {
			t.Errorf("SplitAttacks(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAssignRoundRobin(t *testing.T) {
	got := Assign([]string{"a", "b"}, 5)
	if want := []string{"a", "b", "a", "b", "a"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	if Assign(nil, 3) != nil || len(Assign([]string{"a"}, 0)) != 0 {
		t.Fatal("Assign of nothing")
	}
}

func TestGenesisAttack(t *testing.T) {
	for _, tc := range []struct {
		assigned []string
		want     string
		uniform  bool
		network  bool // some peer does something the simulator does not model
	}{
		{nil, "none", true, false},
		{[]string{"shb", "shb"}, "shb", true, false},
		{[]string{"mute", "silent"}, "silent", true, false},
		{[]string{"alie", "equivocate"}, "alie", false, true},
		{[]string{"equivocate", "spam+invalid"}, "none", true, true},
		{[]string{"alie+censor", "alie"}, "alie", true, true},
		{[]string{"alie+mute"}, "silent", true, false},
	} {
		got, uniform := GenesisAttack(tc.assigned)
		network := false
		for _, a := range tc.assigned {
			network = network || hasNetworkPart(a)
		}
		if got != tc.want || uniform != tc.uniform || network != tc.network {
			t.Errorf("%q: got (%q, %v, network %v), want (%q, %v, %v)", tc.assigned, got, uniform, network, tc.want, tc.uniform, tc.network)
		}
	}
	if PeerArg("alie:z=1+censor") != "alie:z=1,censor" {
		t.Error("PeerArg does not join parts with commas")
	}
}

func TestParseKill(t *testing.T) {
	k, err := ParseKill("2@50")
	if err != nil || k != (Kill{Count: 2, Round: 50, Down: DefaultKillDown}) {
		t.Fatalf("ParseKill(2@50) = %+v, %v", k, err)
	}
	for _, bad := range []string{"", "2", "@5", "0@5", "-1@5", "x@5", "2@", "2@-3", "2@1.5"} {
		if _, err := ParseKill(bad); !errors.Is(err, ErrOptions) {
			t.Errorf("ParseKill(%q): err = %v", bad, err)
		}
	}
}

func TestParsePartition(t *testing.T) {
	p, err := ParsePartition("0.3@20+5s")
	if err != nil || p != (Partition{Fraction: 0.3, Round: 20, Duration: 5 * time.Second}) {
		t.Fatalf("ParsePartition = %+v, %v", p, err)
	}
	for _, bad := range []string{"", "0.3@20", "0.3+5s", "0.5@20+5s", "0@20+5s", "NaN@1+1s", "0.3@x+5s", "0.3@20+0s", "0.3@20+-1s", "0.3@20+5"} {
		if _, err := ParsePartition(bad); !errors.Is(err, ErrOptions) {
			t.Errorf("ParsePartition(%q): err = %v", bad, err)
		}
	}
	// ⌈fraction·n⌉ against a brute-force count: the smallest k with k ≥ fraction·n.
	for n := 1; n <= 60; n++ {
		for _, f := range []float64{0.01, 0.1, 0.2, 0.25, 1.0 / 3, 0.4, 0.49} {
			want := 1
			for float64(want) < f*float64(n)-1e-9 {
				want++
			}
			if got := (Partition{Fraction: f}).cutSize(n); got != want {
				t.Errorf("cutSize(%v, %d) = %d, want %d", f, n, got, want)
			}
		}
	}
}

func TestFirstHonest(t *testing.T) {
	if got := firstHonest([]bool{false, true, true, false, true}, 2); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("firstHonest = %v", got)
	}
}

func TestNumJSON(t *testing.T) {
	for _, x := range []float64{0, -1.5, 1e-300, math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1)} {
		b, err := json.Marshal(Num(x))
		if err != nil {
			t.Fatal(err)
		}
		var back Num
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		finite := !math.IsNaN(x) && !math.IsInf(x, 0)
		if finite && float64(back) != x || !finite && !math.IsNaN(float64(back)) {
			t.Errorf("%v → %s → %v", x, b, back)
		}
	}
	var n Num
	if json.Unmarshal([]byte(`"x"`), &n) == nil {
		t.Error("a string decoded as a number")
	}
}

func TestSameRows(t *testing.T) {
	a := []curves.Row{{Round: 0, Epoch: 0, Loss: 1, Gap: math.NaN()}, {Round: 5, Epoch: 0.1, Loss: 0.5, Gap: math.NaN()}}
	if ok, why := SameRows(a, slices.Clone(a)); !ok {
		t.Fatal(why)
	}
	b := slices.Clone(a)
	b[1].Loss = math.Nextafter(0.5, 1)
	if ok, _ := SameRows(a, b); ok {
		t.Fatal("rows one ulp apart compare equal")
	}
	if ok, _ := SameRows(a, a[:1]); ok {
		t.Fatal("rows of different lengths compare equal")
	}
}

func TestValidate(t *testing.T) {
	good := Options{Spec: smallSpec(4, 1, "shb", 10), Out: "x"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*Options){
		"no out":         func(o *Options) { o.Out = "" },
		"kill too many":  func(o *Options) { o.Kills = []Kill{{Count: 4, Round: 1}} },
		"negative grace": func(o *Options) { o.Grace = -1 },
		"big partition":  func(o *Options) { o.Partitions = []Partition{{Fraction: 0.6, Round: 1, Duration: time.Second}} },
		"bad spec":       func(o *Options) { o.Spec.Rounds = 0 },
		"byz at n/3":     func(o *Options) { o.Spec.Members, o.Spec.Byzantine = 6, 2 },
		"bad log level":  func(o *Options) { o.PeerLogLevel = "loud" },
	} {
		o := good
		edit(&o)
		if err := o.Validate(); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzParseKill(f *testing.F) {
	for _, s := range []string{"2@50", "0@1", "@", "1@18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKill(s)
		if err == nil && (k.Count < 1 || k.Down != DefaultKillDown) {
			t.Fatalf("ParseKill(%q) = %+v", s, k)
		}
	})
}

func FuzzParsePartition(f *testing.F) {
	for _, s := range []string{"0.3@20+5s", "0.49@0+1ns", "1e-300@1+1h", "@+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePartition(s)
		if err == nil && (!(p.Fraction > 0 && p.Fraction < 0.5) || p.Duration <= 0 || p.cutSize(50) > 25) {
			t.Fatalf("ParsePartition(%q) = %+v", s, p)
		}
	})
}

func FuzzSplitAttacks(f *testing.F) {
	for _, s := range []string{"shb", "alie,spam", "noise:sigma=1,mean=0", "alie+censor", ",", "a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := SplitAttacks(s)
		if err != nil {
			return
		}
		if len(got) == 0 {
			t.Fatalf("SplitAttacks(%q) accepted no attack", s)
		}
		for _, a := range got {
			if a == "" {
				t.Fatalf("SplitAttacks(%q) = %q has an empty attack", s, got)
			}
		}
	})
}

func TestGomaxprocs(t *testing.T) {
	for _, tc := range []struct{ cores, n, want int }{
		{2, 4, 1}, {8, 4, 2}, {16, 5, 3}, {1, 1, 1}, {4, 0, 4}, {64, 20, 3},
	} {
		if got := gomaxprocs(tc.cores, tc.n); got != tc.want {
			t.Errorf("gomaxprocs(%d, %d) = %d, want %d", tc.cores, tc.n, got, tc.want)
		}
	}
	env := peerEnv(4)
	found := false
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOMAXPROCS=") {
			found = true
		}
	}
	if !found {
		t.Errorf("peer environment has no GOMAXPROCS")
	}
}

func TestParseCrash(t *testing.T) {
	k, err := ParseCrash("2@50")
	if err != nil || k.Count != 2 || k.Round != 50 || !k.Forever || k.Down != 0 {
		t.Fatalf("ParseCrash(2@50) = %+v, %v", k, err)
	}
	for _, bad := range []string{"", "2", "0@5", "x@5", "2@-1"} {
		if _, err := ParseCrash(bad); !errors.Is(err, ErrOptions) {
			t.Errorf("ParseCrash(%q): %v, want ErrOptions", bad, err)
		}
	}
}

func TestCrashedPeersAreNotCounted(t *testing.T) {
	p := &proc{honest: true}
	if !p.counted() {
		t.Fatal("an honest running peer is not counted")
	}
	p.crashed = true
	if p.counted() {
		t.Fatal("a peer crashed for good still counts for progress")
	}
}
