package data

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// numbered returns a dataset whose row r has the single value r+1 in column 0, so a shard's values
// name the rows it holds.
func numbered(n int, label func(r int) float64) *Dataset {
	d := &Dataset{Name: "numbered", Features: 1, Indptr: []int{0}}
	for r := range n {
		d.Indices = append(d.Indices, 0)
		d.Values = append(d.Values, float64(r+1))
		d.Labels = append(d.Labels, label(r))
		d.Indptr = append(d.Indptr, r+1)
	}
	return d
}

func TestParseSplitMode(t *testing.T) {
	for _, m := range []SplitMode{SplitFull, SplitIID, SplitLabel} {
		got, err := ParseSplitMode(m.String())
		if err != nil || got != m {
			t.Errorf("round trip of %v: %v, %v", m, got, err)
		}
	}
	if got, err := ParseSplitMode(" IID "); err != nil || got != SplitIID {
		t.Errorf("case and spaces: %v, %v", got, err)
	}
	for _, s := range []string{"", "random", "fulll"} {
		if _, err := ParseSplitMode(s); !errors.Is(err, ErrSplit) {
			t.Errorf("%q: got %v, want ErrSplit", s, err)
		}
	}
	if s := SplitMode(7).String(); s != "SplitMode(7)" {
		t.Errorf("unknown mode prints %q", s)
	}
}

func TestSplitFullSharesPointer(t *testing.T) {
	d := numbered(5, func(int) float64 { return 0 })
	shards, err := Split(d, 20, SplitFull, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 20 {
		t.Fatalf("%d shards", len(shards))
	}
	for i, s := range shards {
		if s != d {
			t.Fatalf("shard %d is a copy", i)
		}
	}
}

// TestSplitPartitions checks that iid and label splits partition the rows, with near-equal sizes, rows
// in their original order within a shard, and the same result for the same seed.
func TestSplitPartitions(t *testing.T) {
	label := func(r int) float64 { return float64(r % 3 / 2) } // one row in three is positive
	for _, mode := range []SplitMode{SplitIID, SplitLabel} {
		for _, tc := range []struct{ n, members int }{{10, 1}, {10, 3}, {101, 7}, {12, 12}} {
			t.Run(fmt.Sprintf("%v/%d/%d", mode, tc.n, tc.members), func(t *testing.T) {
				d := numbered(tc.n, label)
				shards, err := Split(d, tc.members, mode, 42)
				if err != nil {
					t.Fatal(err)
				}
				again, _ := Split(d, tc.members, mode, 42)
				var seen []float64
				for i, s := range shards {
					if err := s.Validate(); err != nil {
						t.Fatal(err)
					}
					if s.Hash() != again[i].Hash() {
						t.Fatalf("shard %d differs between calls with the same seed", i)
					}
					if size := s.Rows(); size < tc.n/tc.members || size > (tc.n+tc.members-1)/tc.members {
						t.Errorf("shard %d has %d rows", i, size)
					}
					if !slices.IsSorted(s.Values) {
						t.Errorf("shard %d rows are not in original order: %v", i, s.Values)
					}
					for r, v := range s.Values {
						if s.Labels[r] != label(int(v)-1) {
							t.Fatalf("row %v lost its label", v)
						}
					}
					seen = append(seen, s.Values...)
				}
				slices.Sort(seen)
				for r, v := range seen {
					if v != float64(r+1) {
						t.Fatalf("rows are not a partition: %v", seen)
					}
				}
			})
		}
	}
}

func TestSplitLabelIsHeterogeneous(t *testing.T) {
	d := numbered(100, func(r int) float64 { return float64(r % 2) })
	shards, err := Split(d, 4, SplitLabel, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range shards {
		want := float64(i / 2) // the first two shards hold the 50 zeros, the last two the ones
		for _, y := range s.Labels {
			if y != want {
				t.Fatalf("shard %d holds label %v", i, y)
			}
		}
	}
}

func TestSplitSeedMatters(t *testing.T) {
	d := numbered(1000, func(int) float64 { return 0 })
	a, _ := Split(d, 4, SplitIID, 1)
	b, _ := Split(d, 4, SplitIID, 2)
	if a[0].Hash() == b[0].Hash() {
		t.Fatal("different seeds gave the same shard")
	}
}

func TestSplitErrors(t *testing.T) {
	d := numbered(3, func(int) float64 { return 0 })
	cases := []struct {
		name    string
		d       *Dataset
		members int
		mode    SplitMode
	}{
		{"nil", nil, 2, SplitIID},
		{"zero members", d, 0, SplitFull},
		{"more members than rows", d, 4, SplitIID},
		{"unknown mode", d, 2, SplitMode(9)},
	}
	for _, tc := range cases {
		if _, err := Split(tc.d, tc.members, tc.mode, 0); !errors.Is(err, ErrSplit) {
			t.Errorf("%s: got %v, want ErrSplit", tc.name, err)
		}
	}
}
