#!/usr/bin/env bash
# make bench: the hot path's micro-benchmarks, then the side-by-side lab
# benchmark of xdhcpd against ISC Kea 2.2 (scripts/bench/, a Go program).
#
#   QUICK=1            a ~2-minute smoke run (short points, one run each)
#   MICRO=0 / LAB=0    skip the micro-benchmarks / the lab benchmark
#   BENCHTIME=200ms    go test -benchtime for the micro-benchmarks
#   Lab settings (see scripts/bench/main.go): SECS REPEATS LADDER HA_LADDER
#   BUDGET LOADER=auto|perfdhcp|dhcpload SERVERS CLIENTS THREADS LAB_PREFIX
#
# Writes out/bench/micro.txt, out/bench/results.json, out/bench/chart.png
# and out/bench/chart.json. The lab part needs root; it refuses to start
# when a lab with its prefix (xbench-) exists, and removes everything it
# created on exit, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
GO=${GO:-go}
OUT=out/bench
mkdir -p "$OUT"
status=0

if [[ ${QUICK:-0} == 1 ]]; then
	BENCHTIME=${BENCHTIME:-50ms}
fi
BENCHTIME=${BENCHTIME:-200ms}

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

if [[ ${LAB:-1} == 1 ]]; then
	echo "== lab benchmark: xdhcpd vs Kea 2.2"
	$GO build -o bin/xbench ./scripts/bench
	set +e
	bin/xbench -root . -out "$OUT" "$@"
	rc=$?
	set -e
	[[ $rc -ne 0 ]] && status=$rc
fi
exit $status
