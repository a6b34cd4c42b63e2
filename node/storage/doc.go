// Package storage owns what a peer keeps on disk in its StateDir: the journal of decided states and
// consensus states (journal.go), when it is durable and whether a restart may have lost records
// (durability.go), the sign bound (signbound.go), and checked files (magic, SHA-256, payload, written
// atomically) for the legacy state files and for files other packages keep there (the node's member
// history). It knows the bytes and their checksums, not what they mean: the node decodes a loaded
// state and checks its certificate, and decides what a damaged or possibly forgotten record costs.
//
// Imports: the standard library and consensus (for PersistentState's encoding) only — no libp2p, no
// network, no other part of node. Layering is checked by internal/arch.
package storage
