package node

import (
	"maps"
	"testing"
)

func TestRejectedBy(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []map[string]uint64
		want map[string]uint64
	}{
		{"none", nil, nil},
		{"empty topics", []map[string]uint64{{}, nil}, nil},
		{"one", []map[string]uint64{{"bad signature": 2}}, map[string]uint64{"bad signature": 2}},
		{"summed", []map[string]uint64{{"a": 1, "b": 2}, {"b": 3, "c": 4}}, map[string]uint64{"a": 1, "b": 5, "c": 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rejectedBy(tc.in...)
			if !maps.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("rejectedBy(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
