package byzantine

import "testing"

// TestParseAttack covers the comma-separated attack list.
func TestParseAttack(t *testing.T) {
	cases := []struct {
		spec    string
		ok      bool
		check   func(attackMode) bool
		comment string
	}{
		{"", true, func(a attackMode) bool { return a == attackMode{} }, "honest"},
		{"none", true, func(a attackMode) bool { return a == attackMode{} }, "honest"},
		{"equivocate, censor", true, func(a attackMode) bool { return a.equivocate && a.censor && !a.spam }, "two"},
		{"WITHHOLD", true, func(a attackMode) bool { return a.withhold }, "case"},
		{"spam,ipm", true, func(a attackMode) bool { return a.spam && a.learning != nil }, "mixed"},
		{"badagg,alie:z=1.5", true, func(a attackMode) bool { return a.badAgg && a.learning != nil }, "parameterised"},
		{"ipm,alie", false, nil, "two learning attacks"},
		{"z=1", false, nil, "dangling parameter"},
		{"no-such-attack", false, nil, "unknown"},
	}
	for _, c := range cases {
		a, err := parseAttack(c.spec)
		if (err == nil) != c.ok {
			t.Errorf("%s (%q): err %v", c.comment, c.spec, err)
			continue
		}
		if c.ok && !c.check(a) {
			t.Errorf("%s (%q): parsed %+v", c.comment, c.spec, a)
		}
	}
}

// FuzzParseAttack: the attack parser never panics, and what it accepts re-validates.
func FuzzParseAttack(f *testing.F) {
	for _, s := range []string{"", "none", "equivocate,censor", "alie:z=1.5,scale=2", "spam,,", "z=1", ":,=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if _, err := parseAttack(spec); err == nil {
			if _, err := parseAttack(spec); err != nil {
				t.Fatalf("accepted once, refused twice: %v", err)
			}
		}
	})
}
