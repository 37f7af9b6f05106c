#!/usr/bin/env bash
# A netns lab for xdhcp: a client namespace holding a bridge, and two server
# namespaces attached to it by veth pairs, so that every broadcast from the
# client reaches both servers (what an HA pair needs).
#
#   <p>cli:  br0 198.18.0.1/24 (perfdhcp runs here; it relays with giaddr 198.18.0.1)
#   <p>s1:   eth0 198.18.0.11/24  (veth, peer <p>v1 on br0)
#   <p>s2:   eth0 198.18.0.12/24  (veth, peer <p>v2 on br0)
#   <p>cli:  atk0, no address: an attacker's own port on the segment (veth,
#            peer atk1 on br0), for dhcpload -hostile
#
# Addresses are from 198.18.0.0/15 only. Usage:
#   scripts/lab.sh up [PREFIX]      create (fails if the lab exists)
#   scripts/lab.sh down [PREFIX]    remove (idempotent)
#   source scripts/lab.sh; lab_up PREFIX; ...; lab_down PREFIX
# PREFIX defaults to "xdl-". Servers' veths get 2 RX queues so both AF_XDP
# queues are exercised.
set -euo pipefail

LAB_CLI_ADDR=198.18.0.1
LAB_S1_ADDR=198.18.0.11
LAB_S2_ADDR=198.18.0.12

lab_exists() {
	local p=${1:-xdl-}
	ip netns list 2>/dev/null | grep -qE "^${p}(cli|s1|s2)( |$)"
}

lab_up() {
	local p=${1:-xdl-}
	if lab_exists "$p"; then
		echo "lab: namespaces ${p}* already exist (another run in progress? remove with: scripts/lab.sh down $p)" >&2
		return 1
	fi
	ip netns add "${p}cli"
	ip netns add "${p}s1"
	ip netns add "${p}s2"
	for ns in cli s1 s2; do ip -n "${p}$ns" link set lo up; done
	ip -n "${p}cli" link add br0 type bridge
	ip -n "${p}cli" addr add "$LAB_CLI_ADDR/24" dev br0
	ip -n "${p}cli" link set br0 up
	# br0 stands for the access switch. Where br_netfilter is loaded (Docker
	# loads it) every bridged frame would also traverse iptables, work the
	# kernel charges to whichever process sent the frame (a server's reply
	# send included): a cost of this lab, not of any DHCP server.
	for f in iptables ip6tables arptables; do
		ip netns exec "${p}cli" sysctl -qw "net.bridge.bridge-nf-call-$f=0" 2>/dev/null || true
	done
	local i addr
	for i in 1 2; do
		addr=$LAB_S1_ADDR
		[[ $i == 2 ]] && addr=$LAB_S2_ADDR
		ip link add "${p}v$i" netns "${p}cli" numrxqueues 2 numtxqueues 2 type veth \
			peer name eth0 netns "${p}s$i" numrxqueues 2 numtxqueues 2
		ip -n "${p}cli" link set "${p}v$i" master br0 up
		ip -n "${p}s$i" addr add "$addr/24" dev eth0
		ip -n "${p}s$i" link set eth0 up
		# Kernel UDP senders on veth leave partial checksums (offload).
		ip netns exec "${p}s$i" ethtool -K eth0 tx off >/dev/null 2>&1 || true
	done
	ip netns exec "${p}cli" ethtool -K br0 tx off >/dev/null 2>&1 || true
	ip -n "${p}cli" link add atk0 type veth peer name atk1
	ip -n "${p}cli" link set atk1 master br0 up
	ip -n "${p}cli" link set atk0 up
	# Wait for carrier on the servers' links (Kea opens no socket before it).
	local n
	for n in $(seq 50); do
		if ip -n "${p}s1" link show eth0 | grep -q LOWER_UP && ip -n "${p}s2" link show eth0 | grep -q LOWER_UP; then
			return 0
		fi
		sleep 0.1
	done
	echo "lab: links did not come up" >&2
	return 1
}

lab_down() {
	local p=${1:-xdl-}
	local ns
	for ns in cli s1 s2; do
		if ip netns list 2>/dev/null | grep -qE "^${p}$ns( |$)"; then
			# Kill whatever still runs in the namespace before removing it.
			ip netns pids "${p}$ns" 2>/dev/null | xargs -r kill -TERM 2>/dev/null || true
		fi
	done
	sleep 0.3
	for ns in cli s1 s2; do
		ip netns pids "${p}$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
		ip netns del "${p}$ns" 2>/dev/null || true
	done
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	case "${1:-}" in
	up) lab_up "${2:-xdl-}" ;;
	down) lab_down "${2:-xdl-}" ;;
	*)
		echo "usage: $0 up|down [PREFIX]" >&2
		exit 2
		;;
	esac
fi
