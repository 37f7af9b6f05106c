#!/usr/bin/env bash
# Check that the committed bpf2go output (bpf/*_bpfel.{go,o}) is what the
# committed C source compiles to with this machine's clang. Regenerates in
# place, compares with the committed files, and puts the committed files back.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang >/dev/null || ! command -v llvm-strip >/dev/null; then
	echo "generate-check: clang/llvm-strip not installed; skipped (run scripts/deps.sh)"
	exit 0
fi
shopt -s nullglob
gen=(bpf/*_bpfel.go bpf/*_bpfel.o)
if ((${#gen[@]} == 0)); then
	echo "generate-check: no generated BPF files committed yet"
	exit 0
fi
backup=$(mktemp -d)
trap 'cp -p "$backup"/* bpf/ 2>/dev/null; rm -rf "$backup"' EXIT
cp -p "${gen[@]}" "$backup"/
BPF2GO_CC=${BPF2GO_CC:-clang} BPF2GO_STRIP=${BPF2GO_STRIP:-llvm-strip} go generate ./bpf/... >/dev/null
status=0
for f in "${gen[@]}"; do
	if ! cmp -s "$f" "$backup/$(basename "$f")"; then
		echo "generate-check: $f differs from what 'make generate' produces; run make generate and commit"
		status=1
	fi
done
[[ $status -eq 0 ]] && echo "generate-check: committed BPF object matches bpf/*.c"
exit $status
