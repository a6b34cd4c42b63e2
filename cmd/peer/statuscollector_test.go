package main

import (
	"testing"

	"github.com/byzpp/byzpp/node/status"
	"github.com/prometheus/client_golang/prometheus"
)

type fixedStatus status.Status

func (f fixedStatus) Status() status.Status { return status.Status(f) }

// TestStatusCollector: /metrics has one gauge per status.Gauges entry, under byzpp_, and the labelled
// counters with their labels, all from one Status.
func TestStatusCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newStatusCollector(fixedStatus{Round: 7, Peers: 3, Blame: map[int]map[string]uint64{2: {"invalid": 4}},
		RejectedBy: map[string]uint64{"bad signature": 5}}))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "," + l.GetName() + "=" + l.GetValue()
			}
			got[name] = v
		}
	}
	for _, g := range status.Gauges() {
		if _, ok := got["byzpp_"+g.Name]; !ok {
			t.Errorf("no byzpp_%s", g.Name)
		}
	}
	for name, want := range map[string]float64{"byzpp_round": 7, "byzpp_peers": 3, "byzpp_blame,kind=invalid,member=2": 4,
		"byzpp_gossip_rejected_by_reason,reason=bad signature": 5} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}
