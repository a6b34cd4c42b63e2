package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/byzpp/byzpp/node"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/p2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// fetchedGenesis is where a genesis fetched from a peer is kept in the state directory, so that a
// restart uses the very same file.
const fetchedGenesis = "genesis.json"

// genesisFromPeers returns the genesis to run: the one kept in stateDir by an earlier fetch, or one
// fetched from the bootstrap peers. With wantRun (hex run id) it must hash to that id; without it the
// volunteer trusts its bootstrap peer for the run's rules (the run id is printed to compare).
func genesisFromPeers(ctx context.Context, key crypto.PrivKey, stateDir string, bootstrap []string, wantRun string, log *slog.Logger) (*genesis.Genesis, error) {
	path := filepath.Join(stateDir, fetchedGenesis)
	check := func(g *genesis.Genesis) error {
		id, err := g.RunID()
		if err != nil {
			return err
		}
		if wantRun != "" && hex.EncodeToString(id[:]) != wantRun && hex.EncodeToString(id[:8]) != wantRun {
			return fmt.Errorf("run: the genesis hashes to run %x, not the --run %s asked for", id[:], wantRun)
		}
		return nil
	}
	if g, err := genesis.Load(path); err == nil {
		return g, check(g)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if len(bootstrap) == 0 {
		return nil, errors.New("run: give --genesis FILE, or --bootstrap ADDR to fetch the run's genesis from a peer")
	}
	host, err := p2p.New(ctx, p2p.Config{Options: p2p.Options{Logger: log}, Key: key, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		return nil, fmt.Errorf("run: starting a host to fetch the genesis: %w", err)
	}
	defer host.Close()
	var errs []error
	for _, b := range bootstrap {
		g, err := fetchGenesisFrom(ctx, host, b)
		if err == nil {
			err = check(g)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b, err))
			continue
		}
		if err := os.MkdirAll(stateDir, 0o700); err != nil {
			return nil, err
		}
		if err := g.Save(path); err != nil {
			return nil, fmt.Errorf("run: keeping the fetched genesis: %w", err)
		}
		id, _ := g.RunID()
		log.Info("fetched the run's genesis", "from", b, "run", hex.EncodeToString(id[:]), "members", len(g.Members), "open", g.Open, "saved", path)
		return g, nil
	}
	return nil, fmt.Errorf("run: no bootstrap peer served a usable genesis: %w", errors.Join(errs...))
}

func fetchGenesisFrom(ctx context.Context, host *p2p.Host, addr string) (*genesis.Genesis, error) {
	info, err := peer.AddrInfoFromString(addr)
	if err != nil {
		return nil, fmt.Errorf("address must end in /p2p/<peer id>: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := host.ConnectPeer(cctx, *info); err != nil {
		return nil, err
	}
	raw, err := host.Request(cctx, info.ID, node.ProtoGenesis, nil, node.MaxGenesisSize)
	if err != nil {
		return nil, err
	}
	return genesis.Parse(raw)
}
