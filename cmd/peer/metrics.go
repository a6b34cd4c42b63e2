package main

import (
	"slices"

	"github.com/byzpp/byzpp/node/status"
	"github.com/byzpp/byzpp/p2p"
	"github.com/prometheus/client_golang/prometheus"
)

// statusCollector exports package status' gauges and labelled counters (blame per member and kind
// of offence, rejected gossip per reason) from one fresh Status per scrape. The labelled counters'
// label sets are only known at scrape time, so they are built at every Collect rather than kept in
// CounterVecs.
type statusCollector struct {
	nd          statusSource
	gauges      []status.Gauge
	gaugeDescs  []*prometheus.Desc
	counters    []status.Labelled
	counterDesc []*prometheus.Desc
}

func newStatusCollector(nd statusSource) *statusCollector {
	c := &statusCollector{nd: nd, gauges: status.Gauges(), counters: status.LabelledCounters()}
	for _, g := range c.gauges {
		c.gaugeDescs = append(c.gaugeDescs, prometheus.NewDesc(prometheus.BuildFQName(status.Namespace, "", g.Name), g.Help, nil, nil))
	}
	for _, l := range c.counters {
		c.counterDesc = append(c.counterDesc, prometheus.NewDesc(prometheus.BuildFQName(status.Namespace, "", l.Name), l.Help, l.Labels, nil))
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.gaugeDescs {
		ch <- d
	}
	for _, d := range c.counterDesc {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.nd.Status()
	for i, g := range c.gauges {
		ch <- prometheus.MustNewConstMetric(c.gaugeDescs[i], prometheus.GaugeValue, g.Value(&s))
	}
	for i, l := range c.counters {
		l.Each(&s, func(v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(c.counterDesc[i], prometheus.CounterValue, v, labels...)
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

// blockedPeers lists, sorted, the peers the host's gater blocks now.
func blockedPeers(h *p2p.Host) []string {
	out := []string{} // "[]", not "null", as in graylisted
	for _, p := range h.Gater().Blocked() {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out
}
