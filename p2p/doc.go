// Package p2p is byzpp's networking layer and the only package tree that imports libp2p.
//
// May import: the standard library, libp2p, multiaddr, prometheus and p2p/wire; nothing of training or
// consensus. What node needs of the network is the Network interface (network.go), which *Host
// implements; the libp2p types it passes (peer IDs, keys, address infos, multiaddrs) are re-exported
// as aliases (PeerID, PrivKey, PubKey, AddrInfo, Multiaddr) so that packages above need not import
// libp2p. Package memnet implements Network in memory for tests. Today a few node files, node/roster
// and cmd/peer still import libp2p types themselves (issue 13, listed in internal/arch). Layering
// checked by internal/arch.
//
// A Host wraps a libp2p host with what the protocol needs:
//
//   - Identity: LoadOrCreateKey keeps an Ed25519 key on disk (0600, refusing looser permissions). Peer
//     IDs embed the public key, so PubKeyFromID gives any member's verification key without a key
//     exchange.
//   - Gossip (JoinTopic): gossipsub with StrictNoSign and content-hash message IDs, because byzpp
//     messages carry their own signatures (see package wire for why). Each topic has a Validator whose
//     decoded value is handed to Topic.Next, so nothing is decoded twice; rejections are counted by
//     reason for metrics and fed to gossipsub's peer scoring, which graylists a peer after a few invalid
//     messages. Messages are capped at GossipConfig.MaxMessageSize (1 MiB by default); bigger round
//     messages go over a stream and only their digest is gossiped.
//   - Streams (Handle, Request): one request and one response per stream, uvarint length-prefixed, with
//     caps checked before allocation, deadlines and cancellation from the context, resets on error and a
//     bound on concurrent requests per peer.
//   - Direct messages (HandleDirect, Send): one-way messages to a named peer over one long-lived stream
//     per (peer, protocol); a sender goroutine writes everything queued in one flush, and reopens a
//     broken stream (retrying while a starting peer does not serve the protocol yet). For a fully
//     connected committee this replaces gossip's flood-and-forward, and the secure channel
//     authenticates the sender (see direct.go).
//   - Blocking (BlockPeer, BlockPeerFor): one Gater is at once the connection gater, gossipsub's
//     blacklist and the stream handlers' check; node bans equivocators with it, testnets make partitions
//     and the host blocks peers that keep sending invalid input for a while.
//   - Hostile input (abuse.go, subfilter.go): every inbound stream has deadlines (a frame must arrive
//     within StreamConfig.FrameTimeout plus its length at MinRate; a direct stream idle for IdleTimeout
//     is reset, and senders close theirs at half that), caps checked before allocation, a bound per
//     peer and a global bound (StreamConfig.MaxInbound); the Allow option of Handle and HandleDirect
//     refuses peers before a byte is read. Gossip subscriptions are tracked only under the protocol
//     prefix (or only for an allowlist, AllowTopics), at most GossipConfig.MaxTopicsPerPeer per peer.
//     Every provably invalid input — an oversized, malformed or truncated frame, a missed deadline, a
//     subscription flood — is reported to the OnInvalidInput hook, counted by reason, lowers an
//     untrusted peer's gossip score and, at AbuseConfig.InvalidThreshold within InvalidWindow, blocks
//     it for BlockFor; trusted peers (SetTrusted: the members) are only reported. Streams of untrusted
//     peers refused unread (Allow, per-peer bounds) and their rejected gossip messages count too, and
//     every offence also counts against the sender's IPv4 /24 or IPv6 /48, which is blocked for
//     untrusted peers at four times the threshold; a block of an untrusted peer lapses once it is
//     trusted. New inbound connections from untrusted peers are rate-limited per range (loopback
//     exempt), and libp2p's resource manager is scaled to an explicit budget (Config.ResourceMemory,
//     ResourceFDs, ConnHigh).
//   - Discovery: bootstrap peers with retry and backoff (Bootstrap), a private Kademlia DHT under the
//     protocol prefix with rendezvous advertising, and optional mDNS. Over any Network, addrs.go
//     exchanges known addresses (ProtoAddrs, ServeAddrs) and dials every peer of a list (ConnectAll),
//     so that a newcomer known to one peer reaches them all.
//   - Byte counters (Traffic) from libp2p's bandwidth reporter and from the payloads this package moves.
//
// New builds a real host (TCP and QUIC listeners, connection and resource managers, optional NAT
// traversal). NewFromHost runs the same services on any libp2p host; package p2ptest uses it to build N
// connected hosts on libp2p's in-memory mocknet for tests, which run inside testing/synctest bubbles so
// gossip timing is deterministic and goroutine leaks fail the test. Tests above p2p that do not test
// libp2p itself use memnet instead: no streams, and it runs under the race detector (go1.26's
// ThreadSanitizer sometimes aborts inside mocknet).
package p2p
