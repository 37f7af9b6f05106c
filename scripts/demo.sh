#!/usr/bin/env bash
# make demo: an HA pair in a netns lab (scripts/lab.sh) answering perfdhcp.
#
#   PARTNER=xdhcpd (default)  server1 and server2 are both xdhcpd
#   PARTNER=kea               server1 is real Kea 2.2, server2 is xdhcpd
#   MODE=load-balancing (default), hot-standby or passive-backup: server2 is
#                             the secondary, the standby or the backup
#   RATE=2000 SECS=10         perfdhcp's offered DORA rate and duration
#   DB=postgresql             each server keeps its leases in a PostgreSQL
#                             database of its own (Kea 2.2's schema, made by
#                             kea-admin db-init) on a throw-away cluster;
#                             default DB=memfile
#
# Prints leases/s, each server's HA state, its packet counters and, on the
# XDP path, the in-kernel verdict counters. Everything it creates is removed
# on exit, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lab.sh

PARTNER=${PARTNER:-xdhcpd}
MODE=${MODE:-load-balancing}
case $MODE in
load-balancing) want1=load-balancing want2=load-balancing ;;
hot-standby) want1=hot-standby want2=hot-standby ;;
passive-backup) want1=passive-backup want2=backup ;;
*) echo "demo: MODE must be load-balancing, hot-standby or passive-backup"; exit 1 ;;
esac
DB=${DB:-memfile}
PGBIN=${XDHCP_PG_BINDIR:-/usr/lib/postgresql/15/bin}
RATE=${RATE:-2000}
SECS=${SECS:-10}
PFX=${LAB_PREFIX:-xdemo-}
BIN=${XDHCPD:-bin/xdhcpd}
[[ -x $BIN ]] || { echo "demo: $BIN missing (make build)"; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "demo: needs root (network namespaces, XDP)"; exit 1; }

work=$(mktemp -d /tmp/xdhcp-demo.XXXXXX)
cleanup() {
	set +e
	for p in "$work"/*.pid; do [[ -f $p ]] && kill "$(cat "$p")" 2>/dev/null; done
	sleep 0.5
	if [[ -f $work/pg/data/postmaster.pid ]]; then
		setpriv --reuid=postgres --regid=postgres --clear-groups "$PGBIN/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1
	fi
	lab_down "$PFX"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
lab_up "$PFX"

# DB=postgresql: a throw-away cluster as the postgres user (PostgreSQL
# refuses root), on a unix socket in $work only, one database per server
# initialised the way an operator does it (kea-admin db-init pgsql).
if [[ $DB == postgresql ]]; then
	for b in initdb pg_ctl; do [[ -x $PGBIN/$b ]] || { echo "demo: DB=postgresql needs $PGBIN/$b (scripts/deps.sh)"; exit 1; }; done
	command -v kea-admin >/dev/null || { echo "demo: DB=postgresql needs kea-admin"; exit 1; }
	PGPW=demo-$RANDOM$RANDOM
	chmod 711 "$work"
	mkdir -p "$work/pg/sock"
	printf '%s\n' "$PGPW" >"$work/pg/pw"
	chown -R postgres:postgres "$work/pg"
	asPG() { setpriv --reuid=postgres --regid=postgres --clear-groups "$@"; }
	asPG "$PGBIN/initdb" -D "$work/pg/data" -U postgres --pwfile="$work/pg/pw" --auth=scram-sha-256 >/dev/null
	asPG "$PGBIN/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
		-o "-k $work/pg/sock -c listen_addresses='' -c fsync=off" start >/dev/null
	for n in server1 server2; do
		PGPASSWORD=$PGPW psql -q -h "$work/pg/sock" -U postgres -d postgres \
			-c "CREATE ROLE $n LOGIN PASSWORD '$PGPW'" -c "CREATE DATABASE $n OWNER $n"
		kea-admin db-init pgsql -u "$n" -p "$PGPW" -n "$n" -h "$work/pg/sock" >"$work/pg/db-init-$n.log" 2>&1 ||
			{ cat "$work/pg/db-init-$n.log"; exit 1; }
	done
	echo "== PostgreSQL 15 on $work/pg/sock: databases server1 and server2 (schema $(PGPASSWORD=$PGPW psql -At -h "$work/pg/sock" -U server1 -d server1 -c "SELECT version||'.'||minor FROM schema_version"))"
elif [[ $DB != memfile ]]; then
	echo "demo: DB=$DB: memfile or postgresql"; exit 1
fi

# config NAME -> the HA pair's shared configuration with this-server-name NAME:
# the project's one pair template (internal/keatest/templates/ha-pair.json),
# in Kea 2.2's syntax so that either server can be real Kea.
GO=${GO:-go}
command -v "$GO" >/dev/null || { echo "demo: needs Go ($GO) to render the pair configuration"; exit 1; }
"$GO" build -o "$work/hapair" ./internal/keatest/hapair
config() {
	"$work/hapair" -name "$1" -mode "$MODE" -s1 "$LAB_S1_ADDR" -s2 "$LAB_S2_ADDR" -work "$work" \
		-relay "$LAB_CLI_ADDR" -router 198.19.0.1 -valid 3600 \
		-heartbeat-delay 1000 -max-response-delay 4000 -max-ack-delay 2000
}

start() { # start NAME NS KIND
	local name=$1 ns=$2 kind=$3
	config "$name" >"$work/$name.json"
	if [[ $DB == postgresql ]]; then
		python3 - "$work/$name.json" "$name" "$work/pg/sock" "$PGPW" <<'PY'
import json, sys
path, name, sock, pw = sys.argv[1:]
c = json.load(open(path))
c["Dhcp4"]["lease-database"] = {"type": "postgresql", "name": name, "host": sock, "user": name, "password": pw,
                                "max-reconnect-tries": 10, "reconnect-wait-time": 1000}
json.dump(c, open(path, "w"), indent=2)
PY
	fi
	if [[ $kind == kea ]]; then
		KEA_PIDFILE_DIR=$work KEA_LOCKFILE_DIR=$work ip netns exec "$ns" kea-dhcp4 -c "$work/$name.json" >"$work/$name.out" 2>&1 &
	else
		ip netns exec "$ns" "$BIN" -c "$work/$name.json" >"$work/$name.out" 2>&1 &
	fi
	echo $! >"$work/$name.pid"
}

cmd() { # cmd NAME JSON -> reply
	printf '%s' "$2" | socat -t 5 - "UNIX-CONNECT:$work/$1.sock" 2>/dev/null || true
}

ha_state() {
	cmd "$1" '{"command":"status-get"}' | python3 -c '
import json,sys
try:
    a=json.load(sys.stdin)["arguments"]["high-availability"][0]["ha-servers"]["local"]["state"]
except Exception:
    a="(no answer)"
print(a)'
}

stat() { # stat NAME STATISTIC
	cmd "$1" "{\"command\":\"statistic-get\",\"arguments\":{\"name\":\"$2\"}}" | python3 -c '
import json,sys
try:
    v=list(json.load(sys.stdin)["arguments"].values())[0][0][0]
except Exception:
    v="-"
print(v)'
}

kind1=xdhcpd
[[ $PARTNER == kea ]] && kind1=kea
echo "== lab up: server1 ($kind1) on $LAB_S1_ADDR, server2 (xdhcpd) on $LAB_S2_ADDR, perfdhcp relaying from $LAB_CLI_ADDR"
start server1 "${PFX}s1" "$kind1"
start server2 "${PFX}s2" xdhcpd

echo -n "== $MODE: waiting for server1 to reach $want1 and server2 $want2 "
for i in $(seq 60); do
	s1=$(ha_state server1) s2=$(ha_state server2)
	[[ $s1 == "$want1" && $s2 == "$want2" ]] && break
	echo -n .
	sleep 0.5
done
echo " server1: $s1, server2: $s2"
if [[ $s1 != "$want1" || $s2 != "$want2" ]]; then
	echo "demo: the pair did not reach $want1 / $want2; logs:"; tail -n 20 "$work"/*.out "$work"/*.log 2>/dev/null
	exit 1
fi
grep -h "data path selected" "$work"/server*.out "$work"/server*.log 2>/dev/null | sed 's/^/   /' || true

echo "== perfdhcp: $RATE DORA/s for $SECS s, 20000 clients, broadcast to both servers"
set +e
ip netns exec "${PFX}cli" perfdhcp -4 -l br0 -r "$RATE" -p "$SECS" -R 20000 >"$work/perf.out" 2>&1
set -e
python3 - "$work/perf.out" "$SECS" <<'PY'
import re, sys
out = open(sys.argv[1]).read(); secs = float(sys.argv[2])
blocks = {}
for name in ("DISCOVER-OFFER", "REQUEST-ACK"):
    m = re.search(r"\*\*\*Statistics for: " + name + r"\*\*\*(.*?)(\*\*\*|$)", out, re.S)
    if m:
        b = m.group(1)
        g = lambda k: int(re.search(k + r": (\d+)", b).group(1))
        blocks[name] = (g("sent packets"), g("received packets"), g("drops"))
if "REQUEST-ACK" not in blocks:
    print(out); sys.exit(1)
d, r = blocks["DISCOVER-OFFER"], blocks["REQUEST-ACK"]
print(f"   DISCOVER sent {d[0]}, OFFER received {d[1]}; REQUEST sent {r[0]}, ACK received {r[1]}")
print(f"   leases/s: {r[1]/secs:.0f}   answered: {100*r[1]/max(d[0],1):.2f}% of exchanges")
PY

if [[ $DB == postgresql ]]; then
	for n in server1 server2; do
		echo "== $n's database: $(PGPASSWORD=$PGPW psql -At -h "$work/pg/sock" -U "$n" -d "$n" -c "SELECT (SELECT count(*) FROM lease4) || ' leases; lease4_stat: ' || coalesce((SELECT string_agg('subnet ' || subnet_id || ' state ' || state || ': ' || leases, ', ') FROM lease4_stat), 'empty')")"
	done
fi
for n in server1 server2; do
	echo "== $n: HA state $(ha_state $n); received $(stat $n pkt4-received), ACKs sent $(stat $n pkt4-ack-sent), dropped as partner's $(stat $n pkt4-dropped-ha-scope)"
	cmd "$n" '{"command":"xdp-stats-get"}' | python3 -c '
import json,sys
try:
    r=json.load(sys.stdin)
except Exception:
    sys.exit(0)
if r.get("result") != 0:
    sys.exit(0)
a=r["arguments"]
for i in a.get("interfaces", []):
    c = i["counters"]
    verdicts = ", ".join("%s=%d" % (k[4:], v) for k, v in sorted(c.items()) if k.startswith("bpf_") and v)
    print("   %s (%s, %d queues) in-kernel verdicts: %s" % (i["name"], a["datapath"], i["queues"], verdicts))
    print("   AF_XDP: rx %d, tx %d, tx kicks %d" % (c.get("xsk_rx_packets", 0), c.get("xsk_tx_packets", 0), c.get("xsk_tx_kicks", 0)))
'
done
