// Package up runs a real multi-process testnet on 127.0.0.1: it generates keys and a genesis, starts N
// `peer run` processes, waits until every honest peer has decided the requested rounds (polling their
// /status endpoints), stops them (SIGTERM, then kill) and writes report.json and curves.csv.
package up
