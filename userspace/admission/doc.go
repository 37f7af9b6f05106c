// Package admission is the Go twin of the XDP program's admission policy
// (bpf/xdhcp.h, bpf/xdhcp.c): the client key hash, the relay key rule, the
// token bucket and a Limiter that applies the per-client, per-relay and
// unknown-client limits in the kernel's order. The UDP path calls it for
// every received DISCOVER and REQUEST, so a server without XDP applies the
// same limits; the XDP path's differential fuzz test (bpf
// FuzzProgramVsModel) uses it as the model of the kernel.
//
// The package is pure Go: no BPF, no sockets, no config. Time is injected.
package admission
