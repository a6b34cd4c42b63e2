package main

import (
	"slices"
	"strconv"

	"github.com/byzpp/byzpp/p2p"
	"github.com/prometheus/client_golang/prometheus"
)

// labelledCollector exports the labelled counts of a node's status: blame per member and kind of
// offence, and rejected gossip per reason. Their label sets are only known at scrape time, so they are
// built from a fresh Status on every Collect rather than kept in CounterVecs.
type labelledCollector struct {
	nd       statusSource
	blame    *prometheus.Desc
	rejected *prometheus.Desc
}

func newLabelledCollector(nd statusSource) *labelledCollector {
	return &labelledCollector{
		nd: nd,
		blame: prometheus.NewDesc("byzpp_blame", "Offences this peer attributed to a member, by kind (see node/blame.go).",
			[]string{"member", "kind"}, nil),
		rejected: prometheus.NewDesc("byzpp_gossip_rejected_by_reason", "Gossip messages rejected by validators, by reason.",
			[]string{"reason"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *labelledCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.blame
	ch <- c.rejected
}

// Collect implements prometheus.Collector.
func (c *labelledCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.nd.Status()
	for member, kinds := range s.Blame {
		for kind, n := range kinds {
			ch <- prometheus.MustNewConstMetric(c.blame, prometheus.CounterValue, float64(n), strconv.Itoa(member), kind)
		}
	}
	for reason, n := range s.RejectedBy {
		ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(n), reason)
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
