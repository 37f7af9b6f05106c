#!/usr/bin/env bash
# make bench: the hot path's micro-benchmarks, then loading a 1M-lease
# memfile against Kea (cmd/leaseload), then the side-by-side lab
# benchmark of xdhcpd against ISC Kea 2.2 (cmd/xdhcpbench, a Go program):
# every row and rung loaded by the project's generator (bin/dhcpload) at
# the same offered rates for Kea and xdhcpd, CPU per lease (server
# utime+stime / ACKed leases) compared rung by rung, a perfdhcp reference
# row, a malformed-frame flood (CPU per 1,000 dropped frames, the counters
# that counted them), ending with the project's performance targets
# (MET/MISSED/n/a). The default run takes under 10 minutes.
#
#   QUICK=1            a ~2-minute smoke run (short points, one run each,
#                      200k leases)
#   MICRO=0 / LEASELOAD=0 / LAB=0
#                      skip the micro-benchmarks / leaseload / the lab
#   BENCHTIME=200ms    go test -benchtime for the micro-benchmarks
#   LEASES=1000000     leaseload's lease count (QUICK: 200000)
#   Lab settings (see cmd/xdhcpbench/main.go): SECS REPEATS LADDER HA_LADDER
#   BUDGET LOADER=auto|perfdhcp|dhcpload SERVERS CLIENTS THREADS LAB_PREFIX
#   REF_RATE (perfdhcp reference run, 0 = none) FLOOD=0 FLOOD_RATE FLOOD_SECS
#   HOSTILE=0 HOSTILE_GOOD (relay DORA/s) HOSTILE_SECS HOSTILE_RATES (e.g. 50000,max)
#   HA_DROP=0 HA_DROP_RATE HA_DROP_SECS
#   RENEW=0 RENEW_ONLY=1 (only the renewal rows: Kea and xdhcpd-auto, without
#   and with cache-threshold) RENEW_RATES (default 2500,5000,10000,20000,max) RENEW_SECS
#   RENEW_CLIENTS RENEW_THRESHOLD (default 0.6: above 0.5, so a T1 renewal hits)
#   PG=0 (leave out the PostgreSQL rows kea-pg and xdhcpd-pg) PG_ONLY=1 (only
#   them; also skips the micro-benchmarks and leaseload) PG_LADDER
#
# Writes out/bench/micro.txt, out/bench/leaseload.{txt,json},
# out/bench/results.json, out/bench/chart.png and out/bench/chart.json. The
# lab part needs root; it refuses to start while any scripts/lab.sh lab
# exists (another bench, make demo: they would share the CPUs), and
# removes everything it created on exit, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
GO=${GO:-go}
OUT=out/bench
mkdir -p "$OUT"
status=0

if [[ ${PG_ONLY:-0} == 1 ]]; then
	MICRO=${MICRO:-0}
	LEASELOAD=${LEASELOAD:-0}
fi
if [[ ${QUICK:-0} == 1 ]]; then
	BENCHTIME=${BENCHTIME:-50ms}
	LEASES=${LEASES:-200000}
fi
BENCHTIME=${BENCHTIME:-200ms}
LEASES=${LEASES:-1000000}

# One benchmark per hot-path step: decode, classify, allocate, the engine's
# DORA, reply addressing and encode, lease append, the XDP program (root).
MICRO_PKGS=(./userspace/packet ./userspace/server ./userspace/classify ./userspace/alloc
	./userspace/dhcp ./userspace/lease ./bpf)
MICRO_RE='^Benchmark(Decode|EncodeUDP|EncodeReply|ReplyDestination|WorkerProcess|EvalSeedClasses|EvalFunctions|Next|NextSlash8NearlyFull|DORA|Append|AppendParallel|ProgramRun)$'

if [[ ${MICRO:-1} == 1 ]]; then
	echo "== micro-benchmarks (-benchtime $BENCHTIME)"
	set +e
	$GO test -run='^$' -bench="$MICRO_RE" -benchmem -benchtime="$BENCHTIME" -count=1 "${MICRO_PKGS[@]}" >"$OUT/micro.txt" 2>&1
	rc=$?
	set -e
	awk '
		/^pkg: / { pkg = $2; sub(/.*xdhcp\/xdhcp\//, "", pkg) }
		/^Benchmark/ && /ns\/op/ {
			name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
			ns = ""; bop = ""; allocs = ""; extra = ""
			for (i = 3; i < NF; i++) {
				if ($(i+1) == "ns/op") ns = $i
				else if ($(i+1) == "B/op") bop = $i
				else if ($(i+1) == "allocs/op") allocs = $i
				else if ($(i+1) ~ /\// && $(i+1) != "MB/s") extra = extra " " $i " " $(i+1)
			}
			if (!hdr) { printf "%-18s %-34s %12s %8s %9s\n", "package", "benchmark", "ns/op", "B/op", "allocs/op"; hdr = 1 }
			printf "%-18s %-34s %12s %8s %9s%s\n", pkg, name, ns, bop, allocs, extra
		}
		/^--- (FAIL|SKIP)/ || /^FAIL/ || /SKIP/ { print "   " $0 }
	' "$OUT/micro.txt"
	if [[ $rc -ne 0 ]]; then
		echo "bench: micro-benchmarks failed (exit $rc); see $OUT/micro.txt"
		status=1
	fi
fi

# Loading a memfile: xdhcp's lease.Open against kea-dhcp4 on the same file
# (one run each). Without kea-dhcp4 only xdhcp is measured; a failure here
# is reported but does not stop the lab.
LL_ARGS=()
rm -f "$OUT/leaseload.json" "$OUT/leaseload.txt"
if [[ ${LEASELOAD:-1} == 1 ]]; then
	echo "== leaseload: a $LEASES-lease memfile, xdhcp vs Kea 2.2"
	KEA=kea-dhcp4
	if ! command -v kea-dhcp4 >/dev/null; then
		echo "leaseload: kea-dhcp4 not found; measuring xdhcp only"
		KEA=
	fi
	set +e
	$GO build -o bin/leaseload ./cmd/leaseload &&
		bin/leaseload -n "$LEASES" -runs 1 -kea "$KEA" -json "$OUT/leaseload.json" >"$OUT/leaseload.txt" 2>&1
	rc=$?
	set -e
	[[ -f $OUT/leaseload.txt ]] && sed -n '/^leases:/,$p' "$OUT/leaseload.txt"
	if [[ $rc -ne 0 ]]; then
		echo "bench: leaseload failed (exit $rc); see $OUT/leaseload.txt"
		tail -3 "$OUT/leaseload.txt" 2>/dev/null || true
		status=1
	fi
	if [[ -s $OUT/leaseload.json ]]; then
		LL_ARGS=(-leaseload "$OUT/leaseload.json")
	fi
fi

if [[ ${LAB:-1} == 1 ]]; then
	echo "== lab benchmark: xdhcpd vs Kea 2.2"
	$GO build -o bin/xdhcpbench ./cmd/xdhcpbench
	set +e
	bin/xdhcpbench -root . -out "$OUT" "${LL_ARGS[@]}" "$@"
	rc=$?
	set -e
	[[ $rc -ne 0 ]] && status=$rc
fi
exit $status
