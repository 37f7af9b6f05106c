#!/usr/bin/env bash
# Install what xdhcp needs to build, test, benchmark and demo. Idempotent:
# packages already present are not touched and apt-get update runs only when
# something is missing.
#
#   kea-dhcp4-server, kea-common  real Kea 2.2 (interop tests, HA partner, yardstick)
#   kea-admin                     perfdhcp (load generator used by tests and the demo)
#   kea-ctrl-agent                Kea's REST agent and kea-shell (xdhcpd behind the control agent)
#   clang, llvm                   compile the XDP program (make generate)
#   bpftool, libbpf-dev           inspect maps; libbpf headers for the C program
#   iproute2, ethtool             netns labs
#   socat                         talk to control sockets by hand
#   prometheus                    promtool: the /metrics exposition is linted with `promtool check metrics`
#   lintian                       check the Debian packages (make deb, packaging tests)
#   systemd                       systemd-analyze verify for the unit (packaging tests)
#   strace                        which system calls xdhcpd makes (the unit's SystemCallFilter test)
#   adduser                       the xdhcpd package's postinst, run when tests install it in a sandbox
#   postgresql-15, postgresql-client-15
#                                 the PostgreSQL lease backend: tests start throw-away clusters
#                                 with /usr/lib/postgresql/15/bin (internal/pgtest); kea-admin
#                                 db-init pgsql needs psql
set -euo pipefail

PKGS=(kea-dhcp4-server kea-common kea-admin kea-ctrl-agent clang llvm bpftool libbpf-dev iproute2 ethtool socat prometheus lintian systemd strace adduser postgresql-15 postgresql-client-15)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "deps.sh: missing packages ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Debian's kea packages start their services on install; keep them down:
	# tests and the demo run their own instances.
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Kea (and Prometheus) services installed earlier (before policy-rc.d) may be
# running and holding port 67 or the control socket; tests need them stopped.
for svc in kea-dhcp4-server kea-ctrl-agent kea-dhcp6-server kea-dhcp-ddns-server prometheus; do
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
		systemctl stop "$svc" || true
	fi
done

# Debian's postgresql package creates and starts the cluster 15/main on
# install (when no policy-rc.d held it back). Tests run their own clusters
# (internal/pgtest); stop any system cluster so nothing listens on 5432.
if command -v pg_lsclusters >/dev/null 2>&1; then
	pg_lsclusters --no-header 2>/dev/null | while read -r ver name _port status _rest; do
		if [[ $status == online* ]]; then
			echo "deps.sh: stopping PostgreSQL cluster $ver/$name (tests start their own)"
			pg_ctlcluster "$ver" "$name" stop || true
		fi
	done
fi

cd "$(dirname "$0")/.."
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
go mod download
