package bpf

// Regenerate with `make generate` (needs clang and llvm-strip; the Makefile
// sets BPF2GO_CC=clang, BPF2GO_STRIP=llvm-strip). Headers come only from
// include/ (vendored; see include/README.md), so the object does not depend
// on the build machine's kernel or libbpf headers.
//go:generate go tool bpf2go -tags linux -target bpfel -type xdhcp_stat -type xdhcp_counters -type xdhcp_bucket_owner -type xdhcp_config -type xdhcp_addr -type xdhcp_addr_kind -type xdhcp_key_kind -type xdhcp_limit_kind -type xdhcp_limit_key -type xdhcp_tokens -type xdhcp_renew_key -type xdhcp_renew -type xdhcp_profile xdhcp xdhcp.c -- -O2 -g -Wall -Werror -nostdinc -I./include -I.
