package data

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/byzpp/byzpp/algo/rng"
)

// SplitMode says how Split shares a data set among members.
type SplitMode int

const (
	// SplitFull gives every member all the data (the paper's Figure 1: identical honest objectives).
	SplitFull SplitMode = iota
	// SplitIID shuffles the rows and cuts them into equal parts (sizes differ by at most one).
	SplitIID
	// SplitLabel shuffles, sorts by label and cuts contiguous parts, so members see very different label
	// mixes (heterogeneous data).
	SplitLabel
)

var splitNames = [...]string{SplitFull: "full", SplitIID: "iid", SplitLabel: "label"}

// ErrSplit reports an unknown split mode or a split that cannot be made.
var ErrSplit = errors.New("data: invalid split")

// String returns the mode's name as ParseSplitMode accepts it.
func (m SplitMode) String() string {
	if m >= 0 && int(m) < len(splitNames) {
		return splitNames[m]
	}
	return fmt.Sprintf("SplitMode(%d)", int(m))
}

// ParseSplitMode parses "full", "iid" or "label" (case-insensitive).
func ParseSplitMode(s string) (SplitMode, error) {
	for m, name := range splitNames {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return SplitMode(m), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown split mode %q (want full, iid or label)", ErrSplit, s)
}

// Split returns each of members members' shard of d. SplitFull returns d itself for every member (no
// copies; callers rely on the shared pointer to compute a shared shard once). The other modes shuffle
// with rng.New(seed, 0, rng.Split, 0), so every peer derives the same shards, and store each shard's
// rows in their original order (better memory locality, and the shard does not depend on how the
// shuffle ordered rows within it).
func Split(d *Dataset, members int, mode SplitMode, seed uint64) ([]*Dataset, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: nil dataset", ErrSplit)
	}
	if members < 1 {
		return nil, fmt.Errorf("%w: %d members", ErrSplit, members)
	}
	out := make([]*Dataset, members)
	if mode == SplitFull {
		for i := range out {
			out[i] = d
		}
		return out, nil
	}
	if mode != SplitIID && mode != SplitLabel {
		return nil, fmt.Errorf("%w: unknown mode %v", ErrSplit, mode)
	}
	n := d.Rows()
	if members > n {
		return nil, fmt.Errorf("%w: %d rows cannot fill %d members", ErrSplit, n, members)
	}
	order := rng.Perm(rng.New(seed, 0, rng.Split, 0), n)
	if mode == SplitLabel {
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case d.Labels[a] < d.Labels[b]:
				return -1
			case d.Labels[a] > d.Labels[b]:
				return 1
			}
			return 0
		})
	}
	for i := range out {
		part := slices.Clone(order[i*n/members : (i+1)*n/members])
		slices.Sort(part)
		out[i] = d.Subset(part)
		out[i].Name = fmt.Sprintf("%s[%s %d/%d]", d.Name, mode, i, members)
	}
	return out, nil
}
