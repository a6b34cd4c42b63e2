#!/usr/bin/env bash
# Runs a 4-member byzpp run across the namespaces of nat.sh: members 0 and 1 on the public segment,
# members 2 and 3 each behind its own NAT, every peer with --nat. Prints each member's round, peers and
# advertised addresses (the NATed ones show a /p2p-circuit address through a public member), then the
# rate of a member behind a NAT. Needs root, ip, iptables, curl, python3 and bin/peer (go build -o bin/
# ./cmd/...). Usage: testnet/netns/nat-run.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/bin/peer
secs=${1:-40}
work=$(mktemp -d)
trap 'pkill -f "$work/g.json" || true; "$root/testnet/netns/nat.sh" down; rm -rf "$work"' EXIT
"$root/testnet/netns/nat.sh" up
cd "$work"
for i in 0 1 2 3; do "$bin" keygen --key "k$i.key" >"id$i.txt"; done
"$bin" genesis --members "$(cat id0.txt id1.txt id2.txt id3.txt | paste -sd,)" --out g.json --rounds 1000000 --byz 0 --attack none >/dev/null
# Peer i's key is k$i, whatever its member index.
A="/ip4/11.99.0.1/tcp/4001/p2p/$(cat id0.txt)"
B="/ip4/11.99.0.10/tcp/4001/p2p/$(cat id1.txt)"
run() { # namespace key listen http bootstrap...
	local ns=$1 k=$2 listen=$3 http=$4
	shift 4
	ip netns exec "$ns" "$bin" run --genesis g.json --key "k$k.key" --state "s$k" --listen "$listen" \
		--nat --http "127.0.0.1:$http" --log-format json "$@" >"log$k" 2>&1 &
}
run byz-pub 0 /ip4/11.99.0.1/tcp/4001 9200 --bootstrap "$B"
run byz-pub 1 /ip4/11.99.0.10/tcp/4001 9201 --bootstrap "$A"
run byz-h1 2 /ip4/0.0.0.0/tcp/4001 9202 --bootstrap "$A" --bootstrap "$B"
run byz-h2 3 /ip4/0.0.0.0/tcp/4001 9203 --bootstrap "$A" --bootstrap "$B"
status() { ip netns exec "$1" curl -s "127.0.0.1:$2/status"; }
round() { status "$1" "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["round"])'; }
sleep 20
r1=$(round byz-h1 9202)
sleep "$secs"
r2=$(round byz-h1 9202)
for spec in byz-pub:9200 byz-pub:9201 byz-h1:9202 byz-h2:9203; do
	status "${spec%%:*}" "${spec##*:}" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("round", s["round"], "peers", s["peers"], "addrs", s["addrs"])'
done
echo "member behind NAT 1: $(( (r2 - r1) / secs )) decided rounds/s over the last ${secs}s"
