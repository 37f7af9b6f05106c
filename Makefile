# xdhcp — see README.md. Every target that needs system packages runs
# scripts/deps.sh first (idempotent).

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
# Debian's clang builds the XDP object; bpf2go reads these.
export BPF2GO_CC ?= clang
export BPF2GO_STRIP ?= llvm-strip
FUZZTIME ?= 10s
TEST_TIMEOUT ?= 25m

.PHONY: all build deps generate generate-check vet fmt-check test test-unit fuzz-short bench demo deb clean

all: build

deps:
	@scripts/deps.sh

build:
	$(GO) build -o bin/ ./cmd/...

## generate: rebuild the XDP object and its Go bindings with bpf2go (needs clang).
generate: deps
	$(GO) generate ./bpf/...

## generate-check: the committed BPF object must match its source.
generate-check: deps
	@scripts/check-generated.sh

vet:
	$(GO) vet ./...

fmt-check:
	@bad=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi

## test: everything CI runs (root, netns, XDP, real Kea and perfdhcp included).
# Packages run one at a time (-p 1): several of them drive perfdhcp at
# 2,000 DORA/s against a server and assert >= 99.9 % answered, which two
# such tests at once on a 2-vCPU machine cannot promise.
test: deps fmt-check vet generate-check
	$(GO) test -p 1 -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory fuzz-short

## test-unit: only the tests that need neither root nor external programs.
test-unit:
	$(GO) test -count=1 -short ./...

## fuzz-short: a short run of every fuzz target.
fuzz-short:
	@scripts/fuzz.sh $(FUZZTIME)

## bench: micro-benchmarks and the side-by-side lab benchmark against Kea.
bench: deps build
	@scripts/bench.sh

## demo: an xdhcpd HA pair on the XDP path in a netns lab, driven by perfdhcp (MODE=hot-standby, passive-backup; PARTNER=kea; DB=postgresql: a database per member).
demo: deps build
	@DB=$(DB) scripts/demo.sh

## deb: the Debian packages xdhcpd and dhcpload in out/deb (nfpm; packaging/).
# DEB_VERSION defaults to 0.0~git<commit time>.<hash>-1.
DEB_VERSION ?=
deb: deps
	rm -f out/deb/*.deb
	$(GO) run ./packaging/mkdeb -out out/deb $(if $(DEB_VERSION),-version $(DEB_VERSION))
	lintian --fail-on error --tag-display-limit 0 out/deb/*.deb

clean:
	rm -rf bin out
