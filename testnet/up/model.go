package up

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"time"

	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/modelfile"
)

// finalModel is the run's final model as the harness got it from an honest peer.
type finalModel struct {
	model *modelfile.Model
	from  int // the member index that served it
}

// maxModelBytes bounds a /model or /model.npy body.
const maxModelBytes = 1 << 30

// fetchModel asks the honest running peers, in order, for the final model (GET /model and
// /model.npy) and keeps the first that is the final round's, verifies against the genesis (a quorum
// of the members' signatures on it) and carries the state digest the same peer's /status reports.
func (d *driver) fetchModel(g *genesis.Genesis) (*finalModel, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last error = fmt.Errorf("no honest peer running")
	for _, p := range d.procs {
		if !p.counted() || !p.running() || p.frozen {
			continue
		}
		m, err := getModel(ctx, d.client, p.http)
		if err == nil {
			err = checkServedModel(ctx, d.client, g, p, m, d.tr.target)
		}
		if err != nil {
			last = fmt.Errorf("member %d: %w", p.index, err)
			d.o.Logger.Warn("the final model from a peer", "member", p.index, "err", err)
			continue
		}
		return &finalModel{model: m, from: p.index}, nil
	}
	return nil, last
}

// checkServedModel: the model is of round target, verifies against the genesis, and its digest is
// the one the peer's /status reports.
func checkServedModel(ctx context.Context, c *http.Client, g *genesis.Genesis, p *proc, m *modelfile.Model, target uint64) error {
	if m.Meta.Round != target {
		return fmt.Errorf("model of round %d, the run has %d", m.Meta.Round, target)
	}
	if _, err := modelfile.Verify(g, m); err != nil {
		return err
	}
	s, err := getStatus(ctx, c, p.http, false)
	if err != nil {
		return err
	}
	if s.Round != target || s.Digest != m.Meta.StateDigest {
		return fmt.Errorf("its /status says round %d digest %.12s…, the model round %d digest %.12s…", s.Round, s.Digest, m.Meta.Round, m.Meta.StateDigest)
	}
	return nil
}

func getModel(ctx context.Context, c *http.Client, addr string) (*modelfile.Model, error) {
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxModelBytes))
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return b, err
	}
	sidecar, err := get("/model")
	if err != nil {
		return nil, err
	}
	npy, err := get("/model.npy")
	if err != nil {
		return nil, err
	}
	return modelfile.Decode(npy, sidecar)
}

// writeModel writes the final model to out/model.npy and out/model.json and scores it on the spec's
// held-out set into the report.
func writeModel(o *Options, rep *Report, fm *finalModel) error {
	m := fm.model
	if _, _, err := m.Write(filepath.Join(o.Out, "model")); err != nil {
		return err
	}
	rep.Model = &ModelReport{Files: []string{"model.npy", "model.json"}, Round: m.Meta.Round, Digest: m.Meta.StateDigest,
		From: fm.from, Signers: len(m.Meta.Certificate.Signers), Members: len(m.Meta.Certificate.Members)}
	if rep.TestData == "" {
		return nil
	}
	loss, acc, err := modelfile.Score(rep.Config.Spec, m.X, nil)
	if err != nil || math.IsNaN(acc) {
		o.Logger.Warn("scoring the final model", "err", err)
		return nil
	}
	rep.TestAccuracy, rep.TestLoss = Num(acc), Num(loss)
	rep.TestSource = fmt.Sprintf("the final model (model.npy), served by honest member %d at round %d: certificate of %d of %d members "+
		"verified against the genesis, state digest %.12s… as its /status reports", fm.from, m.Meta.Round,
		rep.Model.Signers, rep.Model.Members, m.Meta.StateDigest)
	return nil
}

// ModelReport says where the final model is and where it came from.
type ModelReport struct {
	Files   []string `json:"files"`
	Round   uint64   `json:"round"`
	Digest  string   `json:"state_digest"`
	From    int      `json:"from_member"`
	Signers int      `json:"certificate_signers"`
	Members int      `json:"members"`
}
