package up

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// churn starts the volunteers of every --join and asks the members of every --leave to leave, once
// the most advanced honest peer reached the round.
func (d *driver) churn(hi uint64) error {
	for d.joins < len(d.o.Joins) && hi >= d.o.Joins[d.joins].Round {
		j := d.o.Joins[d.joins]
		d.joins++
		var started []int
		for _, p := range d.procs {
			if len(started) == j.Count {
				break
			}
			if p.volunteer && p.cmd == nil {
				if err := p.start(); err != nil {
					return err
				}
				started = append(started, p.index)
			}
		}
		d.tr.event(d.procs, "volunteers started with one bootstrap address and the run id; they ask to join", started)
	}
	for d.leaves < len(d.o.Leaves) && hi >= d.o.Leaves[d.leaves].Round {
		l := d.o.Leaves[d.leaves]
		d.leaves++
		var asked []int
		for _, p := range d.procs {
			if len(asked) == l.Count {
				break
			}
			if p.counted() && !p.volunteer && p.running() {
				if err := d.askLeave(p); err != nil {
					return err
				}
				p.leaving = true
				asked = append(asked, p.index)
			}
		}
		d.tr.event(d.procs, "asked to leave the run (POST /control/leave)", asked)
	}
	return nil
}

func (d *driver) askLeave(p *proc) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.http+"/control/leave", nil)
	if err != nil {
		return err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("asking peer %d to leave: %w", p.index, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("asking peer %d to leave: %s", p.index, resp.Status)
	}
	return nil
}
