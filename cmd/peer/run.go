package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	rpprof "runtime/pprof"
	"time"

	"github.com/byzpp/byzpp/node"
	"github.com/byzpp/byzpp/node/adversary"
	"github.com/byzpp/byzpp/node/genesis"
	"github.com/byzpp/byzpp/node/status"
	"github.com/byzpp/byzpp/p2p"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// progressEvery spaces the progress lines.
const progressEvery = 5 * time.Second

func runPeer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("peer run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	genPath := fs.String("genesis", "", "genesis file (without it: fetched from the --bootstrap peers and kept in --state)")
	wantRun := fs.String("run", "", "with a fetched genesis: the run id (hex, full or its first 8 bytes) it must hash to")
	keyPath := fs.String("key", defaultHome("peer.key"), "identity key file, created with mode 0600 if missing")
	stateDir := fs.String("state", defaultHome("state"), "directory for persisted state")
	listen := fs.String("listen", "/ip4/127.0.0.1/tcp/0", "multiaddr to listen on")
	var bootstrap listFlag
	fs.Var(&bootstrap, "bootstrap", "multiaddr of a peer to join through (repeatable)")
	dataPath := fs.String("data", "", "load the genesis data set from this path instead")
	httpAddr := fs.String("http", "", "serve /metrics and /status on this address (e.g. 127.0.0.1:9100)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug (every decided round and dropped message), info (start, progress\n"+
		"every 5 s, stop), warn or error")
	atk := fs.String("attack", "", "testnets: run as a Byzantine member with these attacks, comma-separated; parameters of a\n"+
		"learning-level attack follow it (alie:z=1.5). The attacks:\n"+adversary.Usage("  "))
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	directVotes := fs.Bool("direct-votes", false, "send this peer's votes to every member instead of through the attempt's leader\n"+
		"(the dissemination before the vote relay; for comparisons)")
	pprofOn := fs.Bool("pprof", false, "also serve Go's profiler under /debug/pprof/ on the --http address")
	publishDelay := fs.Duration("publish-delay", 0, "hold every outgoing protocol message (direct sends and gossip publishes)\n"+
		"this long before it leaves: emulated latency for testnets (testnet up --latency)")
	control := fs.Bool("control", false, "testnets only: serve POST /control/block?peers=ID,ID and /control/unblock on the\n"+
		"--http address, which cut this peer off from those peers (or let them back) to make partitions;\n"+
		"anyone who reaches the address can then isolate this peer")
	dhtOn := fs.Bool("dht", false, "find the run's other peers through a Kademlia DHT of byzpp peers (under the protocol\n"+
		"prefix /byzpp, so not IPFS's), advertising and looking up the run id; one --bootstrap peer is then enough")
	dhtServer := fs.Bool("dht-server", false, "with --dht: always answer DHT queries (server mode) instead of deciding by\n"+
		"reachability; use it on peers others bootstrap from")
	mdnsOn := fs.Bool("mdns", false, "find the run's peers on the local network with mDNS (no --bootstrap needed on a LAN)")
	natOn := fs.Bool("nat", false, "behind a NAT: map a port on the router (UPnP/NAT-PMP), hole-punch, and use\n"+
		"connected peers as relays while unreachable (and relay for others once publicly reachable)")
	connLow := fs.Int("conn-low", p2p.DefaultConnLow, "connection manager low watermark: trimming stops at this many connections")
	connHigh := fs.Int("conn-high", p2p.DefaultConnHigh, "connection manager high watermark: above this many connections,\n"+
		"unprotected ones are trimmed (fellow members are protected)")
	modelPath := fs.String("model", "", "where the final model is written at the end of the run: PATH.npy (the weights, NumPy)\n"+
		"and PATH.json (run id, round, digest, certificate); default: model.* in the --state directory")
	linger := fs.Duration("linger", defaultLinger, "after the run's last round is decided, keep serving the final certified state this long\n"+
		"(to members still catching up), then exit 0")
	serveAfterEnd := fs.Bool("serve-after-end", false, "after the run's last round, keep serving the final state until stopped (instead of --linger)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keyPath == "" || *stateDir == "" {
		return errors.New("run: --key and --state are required (no home directory to default to)")
	}
	if *linger < 0 {
		return fmt.Errorf("run: --linger must not be negative, got %v", *linger)
	}
	if *modelPath == "" {
		*modelPath = filepath.Join(*stateDir, "model")
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	setGCPercent()
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	var g *genesis.Genesis
	if *genPath != "" {
		if g, err = genesis.Load(*genPath); err != nil {
			return err
		}
	}
	if *dataPath != "" {
		if _, err := os.Stat(*dataPath); err != nil {
			return fmt.Errorf("run: data: %w", err)
		}
	}
	key, err := p2p.LoadOrCreateKey(*keyPath)
	if err != nil {
		return err
	}
	if g == nil {
		if g, err = genesisFromPeers(ctx, key, *stateDir, bootstrap, *wantRun, logger); err != nil {
			return err
		}
	}
	if *publishDelay < 0 {
		return errors.New("run: --publish-delay must not be negative")
	}
	if *control && *httpAddr == "" {
		return errors.New("run: --control needs --http")
	}
	if *dhtServer && !*dhtOn {
		return errors.New("run: --dht-server needs --dht")
	}
	runID, err := g.RunID()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	host, err := p2p.New(ctx, p2p.Config{Options: p2p.Options{Logger: logger, SendDelay: *publishDelay}, Key: key,
		ListenAddrs: []string{*listen}, Bootstrap: bootstrap,
		// The run id names the run, so peers of other runs sharing the DHT or the LAN are not dialled.
		Rendezvous: "byzpp-run/" + hex.EncodeToString(runID[:]),
		EnableDHT:  *dhtOn, DHTServer: *dhtServer, EnableMDNS: *mdnsOn, EnableNAT: *natOn,
		ConnLow: *connLow, ConnHigh: *connHigh})
	if err != nil {
		return fmt.Errorf("run: starting the network host: %w", err)
	}
	defer host.Close()
	// A Peer runs a member across membership changes, and a volunteer of an open run that is not a
	// member yet as an observer that asks to join (node/peer.go).
	nd, err := node.NewPeer(node.Config{Genesis: g, Key: key, StateDir: *stateDir, Host: host, Data: *dataPath,
		Attack: *atk, Logger: logger, DirectVotes: *directVotes})
	if err != nil {
		return err
	}
	end := node.EndOfRun{ModelPath: *modelPath, Linger: *linger}
	if *serveAfterEnd {
		end.Linger = -1
	}
	nd.SetEndOfRun(end) // node/model.go
	for _, a := range host.Addrs() {
		fmt.Fprintln(stdout, a)
	}
	if *pprofOn && *httpAddr == "" {
		return errors.New("run: --pprof needs --http")
	}
	if *httpAddr != "" {
		srv, err := serveHTTP(*httpAddr, nd, host, logger, *pprofOn, *control)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	if len(bootstrap) > 0 {
		go func() {
			bctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if n, err := host.Bootstrap(bctx); err != nil {
				logger.Warn("bootstrap", "reached", n, "err", err)
			}
		}()
	}
	done := make(chan struct{})
	pctx, stopProgress := context.WithCancel(ctx)
	go func() {
		defer close(done)
		progress(pctx, nd, logger)
	}()
	err = nd.Run(ctx) // returns early when this peer left an open run
	stopProgress()
	<-done
	s := nd.Status()
	logger.Info("stopped", "round", s.Round, "digest", s.Digest, "decided", s.Decided,
		"payload_bytes_out", s.PayloadBytesOut, "payload_bytes_in", s.PayloadBytesIn,
		"wire_bytes_out", s.WireBytesOut, "wire_bytes_in", s.WireBytesIn, "gossip_bytes_out", s.GossipBytesOut,
		"direct_msgs_out", s.DirectMsgsOut, "direct_writes_out", s.DirectWritesOut, "direct_msgs_in", s.DirectMsgsIn, "sigs_verified", s.SigsVerified,
		"relay_bundles_out", s.RelayBundlesOut, "relay_bundles_in", s.RelayBundlesIn, "relay_handovers_out", s.RelayHandoversOut,
		"relay_round_bundles_out", s.RelayRoundBundlesOut, "speculated", s.Speculated, "speculation_misses", s.SpeculationMisses, "speculation_resends", s.SpeculationResends,
		"relay_mac_failures", s.RelayMACFailures, "relay_fallbacks", s.RelayFallbacks)
	if errors.Is(err, node.ErrRunFinished) {
		return nil // the run is complete: exit 0
	}
	return err
}

// defaultLinger is how long a peer keeps serving the final state after the run's end (node/model.go
// says why it does): long enough for a member a few rounds behind to fetch it.
const defaultLinger = 30 * time.Second

// progress logs one line every progressEvery until ctx ends.
func progress(ctx context.Context, nd statusSource, logger *slog.Logger) {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s := nd.Status()
			logger.Info("progress", "round", s.Round, "attempt", s.Attempt, "leader", s.Leader, "loss", s.Loss,
				"gap", s.Gap, "rounds_per_s", fmt.Sprintf("%.2f", s.RoundsPerSec), "rejected", s.Rejected,
				"digest", s.Digest[:min(12, len(s.Digest))], "member", s.Member)
		}
	}
}

// statusSource is what the HTTP endpoints and the progress line read: the running peer.
type statusSource interface{ Status() status.Status }

// leaver is a peer that can leave an open run.
type leaver interface{ Leave() }

// serveHTTP serves /status (package status' JSON) and /metrics (Prometheus text, package status'
// gauges and labelled counters) on addr; a busy port fails at once. /status also lists, as
// "penalised", the peers gossipsub currently graylists, and the addresses this peer advertises; with
// ?curve=1 it includes the recorded curve. With withControl it serves the partition endpoints
// (control.go). With withPprof it also serves net/http/pprof's handlers under /debug/pprof/ (off by
// default: a profile exposes internals and costs CPU while it runs).
func serveHTTP(addr string, nd statusSource, host *p2p.Host, logger *slog.Logger, withPprof, withControl bool) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("run: --http %s: %w", addr, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newStatusCollector(nd)) // metrics.go: one Status per scrape
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		s := nd.Status()
		s.Penalised = graylisted(host)
		s.Blocked = blockedPeers(host)
		s.InvalidInputs = host.InvalidInputs().Snapshot()
		if s.InvalidInputs == nil {
			s.InvalidInputs = map[string]uint64{} // "{}", not "null": this peer counts
		}
		s.Addrs = host.Addrs()
		if r.URL.Query().Get("curve") == "" {
			s.Curve = nil // the recorded points only for harnesses that write curves.csv
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	})
	if m, ok := nd.(modelSource); ok {
		serveModel(mux, m) // model.go: GET /model and /model.npy
	}
	if withControl {
		mux.Handle("/control/block", controlHandler(host, logger, true))
		if l, ok := nd.(leaver); ok {
			mux.HandleFunc("/control/leave", func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost {
					http.Error(w, "POST only", http.StatusMethodNotAllowed)
					return
				}
				logger.Info("asked to leave the run")
				l.Leave()
				fmt.Fprintln(w, "leaving: the peer stops once the change is decided")
			})
		}
		mux.Handle("/control/unblock", controlHandler(host, logger, false))
	}
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// startCPUProfile profiles the process into path until the returned function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("run: --cpuprofile: %w", err)
	}
	if err := rpprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("run: --cpuprofile: %w", err)
	}
	return func() {
		rpprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// defaultHome is name under ~/.byzpp, or "" when there is no home directory.
func defaultHome(name string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, ".byzpp", name)
}

// peerGCPercent is the garbage collector's target heap growth for a peer (Go's default is 100). A
// peer's live heap is small — tens of megabytes — and it allocates for every message it decodes, so
// at the default the collector ran several times a second: on a 20-peer loopback testnet, GOGC=300
// cut a round's CPU by about a tenth and raised decided rounds per second by about as much, for
// about 23 MB more resident memory per peer (57 → 80 MB). GOGC in the environment overrides it.
const peerGCPercent = 300

func setGCPercent() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(peerGCPercent)
	}
}
