#!/usr/bin/env bash
# Builds (up) or removes (down) a small internet in network namespaces, to see what byzpp peers behind
# NATs can do: a public segment 11.99.0.0/24 (namespace byz-pub, bridge br0, public peers at
# 11.99.0.1 and 11.99.0.10) and two home networks, each behind its own NAT router:
#   byz-h1 192.168.1.2 --- byz-r1 (192.168.1.1 | 11.99.0.2, masquerade) --- br0
#   byz-h2 192.168.2.2 --- byz-r2 (192.168.2.1 | 11.99.0.3, masquerade) --- br0
# The "public" segment uses a globally routable range (11.99.0.0/24, never leaving the namespaces):
# libp2p's AutoNAT and relay logic ignore private and documentation ranges, as they should.
# The routers forward only replies from outside (conntrack ESTABLISHED,RELATED), as home routers do:
# nothing outside can open a connection to a host behind them. Needs root, ip and iptables.
set -euo pipefail
cmd=${1:-up}
ns=(byz-pub byz-r1 byz-h1 byz-r2 byz-h2)

down() {
	for n in "${ns[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}

if [[ $cmd == down ]]; then
	down
	exit 0
fi
down
for n in "${ns[@]}"; do
	ip netns add "$n"
	ip -n "$n" link set lo up
done
ip -n byz-pub link add br0 type bridge
ip -n byz-pub link set br0 up
ip -n byz-pub addr add 11.99.0.1/24 dev br0
ip -n byz-pub addr add 11.99.0.10/24 dev br0
for k in 1 2; do
	r=byz-r$k h=byz-h$k
	ip link add "r${k}w" type veth peer name "r${k}wp"
	ip link set "r${k}w" netns "$r"
	ip link set "r${k}wp" netns byz-pub
	ip -n byz-pub link set "r${k}wp" master br0 up
	ip -n "$r" addr add "11.99.0.$((k + 1))/24" dev "r${k}w"
	ip -n "$r" link set "r${k}w" up
	ip link add "r${k}l" type veth peer name "h${k}e"
	ip link set "r${k}l" netns "$r"
	ip link set "h${k}e" netns "$h"
	ip -n "$r" addr add "192.168.$k.1/24" dev "r${k}l"
	ip -n "$r" link set "r${k}l" up
	ip -n "$h" addr add "192.168.$k.2/24" dev "h${k}e"
	ip -n "$h" link set "h${k}e" up
	ip -n "$h" route add default via "192.168.$k.1"
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$r" iptables -t nat -A POSTROUTING -o "r${k}w" -j MASQUERADE
	ip netns exec "$r" iptables -A FORWARD -i "r${k}w" -o "r${k}l" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	ip netns exec "$r" iptables -A FORWARD -i "r${k}w" -o "r${k}l" -j DROP
done
echo "namespaces up: ${ns[*]}"
