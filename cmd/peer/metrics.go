package main

import (
	"slices"

	"github.com/byzpp/byzpp/node/status"
	"github.com/byzpp/byzpp/p2p"
	"github.com/prometheus/client_golang/prometheus"
)

// labelledCollector exports package status' labelled counters (blame per member and kind of offence,
// rejected gossip per reason). Their label sets are only known at scrape time, so they are built from
// a fresh Status on every Collect rather than kept in CounterVecs.
type labelledCollector struct {
	nd       statusSource
	counters []status.Labelled
	descs    []*prometheus.Desc
}

func newLabelledCollector(nd statusSource) *labelledCollector {
	c := &labelledCollector{nd: nd, counters: status.LabelledCounters()}
	for _, l := range c.counters {
		c.descs = append(c.descs, prometheus.NewDesc(prometheus.BuildFQName(status.Namespace, "", l.Name), l.Help, l.Labels, nil))
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *labelledCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *labelledCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.nd.Status()
	for i, l := range c.counters {
		l.Each(&s, func(v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.CounterValue, v, labels...)
		})
	}
}

// graylisted lists, sorted, the peers whose gossip score is below gossipsub's graylist threshold:
// their messages are being ignored (mostly for having sent invalid ones).
func graylisted(h *p2p.Host) []string {
	out := []string{} // "[]", not "null": the harness tells a peer that graylists nobody from one that does not say
	for p, score := range h.PeerScores() {
		if score < p2p.GraylistThreshold {
			out = append(out, p.String())
		}
	}
	slices.Sort(out)
	return out
}
