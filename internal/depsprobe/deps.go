package depsprobe

import (
	_ "github.com/libp2p/go-libp2p"
	_ "github.com/libp2p/go-libp2p-kad-dht"
	_ "github.com/libp2p/go-libp2p-pubsub"
	_ "github.com/libp2p/go-libp2p/p2p/net/mock"
	_ "github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	_ "github.com/vmihailenco/msgpack/v5"
	_ "gonum.org/v1/gonum/mat"
	_ "gonum.org/v1/gonum/optimize"
	_ "gonum.org/v1/plot"
	_ "gonum.org/v1/plot/plotter"
	_ "gonum.org/v1/plot/vg"
	_ "golang.org/x/term"
	_ "github.com/prometheus/client_golang/prometheus"
)
