package up

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// controlTimeout bounds one control request to a peer.
const controlTimeout = 5 * time.Second

// partition is a cut in progress.
type partition struct {
	minority []int // indices of the cut-off peers
	healAt   time.Time
	frozen   bool // made by SIGSTOP (the peers do not serve --control); otherwise by blocking
}

// startPartition cuts the first ⌈fraction·n⌉ running honest peers off from everyone else. With the
// peers' control endpoint (plan.control) each side blocks the other, so both keep running; without
// it the minority is frozen with SIGSTOP.
func (d *driver) startPartition(pt Partition, now time.Time) error {
	var minority []int
	for _, i := range firstHonest(d.honest(), pt.cutSize(len(d.procs))) {
		if d.procs[i].running() {
			minority = append(minority, i)
		}
	}
	cut := &partition{minority: minority, healAt: now.Add(pt.Duration), frozen: !d.control}
	if cut.frozen {
		for _, i := range minority {
			d.procs[i].signal(syscall.SIGSTOP)
			d.procs[i].frozen = true
		}
		d.tr.event(d.procs, fmt.Sprintf("partitioned off (frozen) for %v", pt.Duration), minority)
	} else {
		if err := d.blockSides(minority, "block"); err != nil {
			return err
		}
		for _, i := range minority {
			d.procs[i].cut = true
		}
		d.tr.event(d.procs, fmt.Sprintf("partitioned off (blocked both ways) for %v", pt.Duration), minority)
	}
	d.cut = cut
	return nil
}

// healPartition ends the cut in progress.
func (d *driver) healPartition() error {
	c := d.cut
	if c.frozen {
		for _, i := range c.minority {
			d.procs[i].signal(syscall.SIGCONT)
			d.procs[i].frozen = false
		}
	} else {
		if err := d.blockSides(c.minority, "unblock"); err != nil {
			return err
		}
		for _, i := range c.minority {
			d.procs[i].cut = false
		}
	}
	d.tr.event(d.procs, "partition healed", c.minority)
	d.cut = nil
	return nil
}

// blockSides has every running minority peer block (or unblock) every other peer, and every other
// running peer the minority. A peer that is down (killed meanwhile) starts with nobody blocked.
func (d *driver) blockSides(minority []int, verb string) error {
	inMinority := make([]bool, len(d.procs))
	for _, i := range minority {
		inMinority[i] = true
	}
	var minorityIDs, majorityIDs []string
	for i, p := range d.procs {
		if inMinority[i] {
			minorityIDs = append(minorityIDs, p.id)
		} else {
			majorityIDs = append(majorityIDs, p.id)
		}
	}
	for i, p := range d.procs {
		if !p.running() {
			continue
		}
		others := minorityIDs
		if inMinority[i] {
			others = majorityIDs
		}
		if len(others) == 0 {
			continue
		}
		if err := control(d.client, p.http, verb, others); err != nil {
			return fmt.Errorf("partition: member %d: %w", p.index, err)
		}
	}
	return nil
}

// control POSTs /control/VERB?peers=... to a peer's --http address.
func control(c *http.Client, addr, verb string, ids []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
	defer cancel()
	url := "http://" + addr + "/control/" + verb + "?peers=" + strings.Join(ids, ",")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("POST /control/%s: %w", verb, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /control/%s: %s", verb, resp.Status)
	}
	return nil
}
