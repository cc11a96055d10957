# l2lb — every entry point a developer or CI needs. Each target does its own set-up.
#   make demo      the lab, brought up and walked through (KEEP=1 leaves it up)
#   make test      lint, unit tests and e2e tests against the lab's real kube-apiserver (needs root)
#   make bench     measures and prints; never fails on a figure
#   make chaos     a bounded soak with random faults (MINUTES=10, SEED= replays)
#   make fuzz      10,000 mutated manifests through the API server to the webhook (COUNT=, SEED=)
#   make lab-up    NODES=3 by default; idempotent. CLUSTER=1: kubelets on the nodes run l2lb from its image;
#                  PEER=metallb: that cluster runs MetalLB v0.15.2 instead (what make bench measures against)
#   make lab-down  removes every namespace, process and file the lab made
#   make image     the OCI image (.image/oci and .image/l2lb-<version>.tar), built with no daemon, smoke-tested
#   make bundle    the OLM bundle (bundle/, generated) checked by operator-framework's validator

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

NODES ?= 3
CLUSTER ?=
PEER ?= l2lb
KEEP ?= 0
NODE ?= node
# node-gyp builds the ARP addon offline against the installed Node headers, never downloading them.
export npm_config_nodedir ?= $(shell dirname $$(dirname $$(readlink -f $$(command -v node))))
DEBS := iproute2 iputils-arping ndisc6 curl tcpdump openssl procps python3 util-linux gcc libc6-dev \
  umoci skopeo containerd runc containernetworking-plugins

.PHONY: fuzz chaos help deps debs node-check build fixtures lint generate-check unit e2e test lab-up lab-down demo bench clean image bundle

help:
	@sed -n '2,10p' Makefile | sed 's/^# *//'

node-check:
	@major=$$($(NODE) -p 'process.versions.node.split(".")[0]'); \
	  [ "$$major" -ge 20 ] || { echo "l2lb needs Node.js 20 or newer (found $$($(NODE) --version))"; exit 1; }

debs:
	@e2e/setup/debs.sh $(DEBS)

node_modules/.l2lb-installed: package.json package-lock.json $(wildcard arp/native/*.c arp/native/*.h) arp/native/binding.gyp
	npm ci --no-audit --no-fund
	@touch $@

deps: node-check debs node_modules/.l2lb-installed

build: deps
	@rm -rf dist
	npx tsc -p tsconfig.json

fixtures:
	@e2e/fixtures/build.sh etcd >/dev/null
	@e2e/fixtures/build.sh kube >/dev/null
	@e2e/fixtures/build.sh kube-node >/dev/null
	@e2e/fixtures/build.sh metallb >/dev/null
	@e2e/fixtures/build.sh prometheus >/dev/null
	@e2e/fixtures/build.sh jaeger >/dev/null

lint: deps
	npm run --silent lint

generate-check: build
	@if grep -q '"generate:check"' package.json; then npm run --silent generate:check; fi

unit: build
	$(NODE) --test --test-concurrency=2 $$(find dist -name '*.test.js' | sort)

e2e: build fixtures
	@[ "$$(id -u)" -eq 0 ] || { echo "the e2e tests create network namespaces: run them as root"; exit 1; }
	@# Test files share the lab (each brings it up, idempotently); it comes down after the last one. Three
	@# invocations, so that the lab switches mode twice only (node --test orders the files it is given by
	@# name): the process lab's own files (they drive a program's flags, pid or log); then, on the cluster
	@# lab (kubelets, l2lb installed from its image), the files that run on either lab (they ask for
	@# e2eLabMode()) and the cluster files; then MetalLB's cluster.
	status=0; either=$$(grep -l 'e2eLabMode()' dist/e2e/*.e2e.js | sort); \
	  $(NODE) --test --test-concurrency=1 --test-timeout=900000 $$(find dist -name '*.e2e.js' ! -name 'cluster*' | sort | grep -vxF "$$either") || status=$$?; \
	  L2LB_LAB_MODE=cluster $(NODE) --test --test-concurrency=1 --test-timeout=900000 $$either $$(find dist -name 'cluster*.e2e.js' ! -name 'cluster-metallb*' | sort) || status=$$?; \
	  $(NODE) --test --test-concurrency=1 --test-timeout=900000 $$(find dist -name 'cluster-metallb*.e2e.js') || status=$$?; \
	  $(NODE) dist/e2e/lab/cli.js down >/dev/null; exit $$status

test: lint generate-check unit bundle e2e

lab-up: build fixtures
	$(NODE) dist/e2e/lab/cli.js up --nodes $(NODES) $(if $(filter-out 0,$(CLUSTER)),--cluster) --peer $(PEER)

lab-down:
	@if [ -f dist/e2e/lab/cli.js ]; then $(NODE) dist/e2e/lab/cli.js down; \
	  else ip netns list | awk '/^lab-/{print $$1}' | xargs -r -n1 ip netns del; rm -rf .lab; fi

chaos: build fixtures
	@# A bounded soak with random faults (MINUTES=10 by default; SEED= replays a run); needs root.
	MINUTES=$${MINUTES:-10} SEED=$${SEED:-} $(NODE) dist/e2e/chaos.js; status=$$?; $(NODE) dist/e2e/lab/cli.js down >/dev/null; exit $$status

fuzz: build fixtures
	@# Admission fuzz: COUNT mutated manifests (10,000 by default; SEED= replays) through the lab's API server to the webhook; needs root.
	L2LB_FUZZ_COUNT=$${COUNT:-10000} L2LB_FUZZ_SEED=$${SEED:-12} $(NODE) --test dist/e2e/admission-fuzz.e2e.js; status=$$?; $(NODE) dist/e2e/lab/cli.js down >/dev/null; exit $$status

demo: build fixtures
	@# The guide's walk-through on the lab; KEEP=1 leaves the lab up afterwards.
	KEEP=$(KEEP) $(NODE) dist/e2e/demo.js

bench: build fixtures
	@# Each benchmark measures and prints; a failing one is reported, never fatal. Old results are removed
	@# first, so a figure that was not measured this run says so instead of repeating an older one.
	@rm -f bench/results*.json bench/failover.svg
	-$(NODE) dist/bench/allocator.js
	-$(NODE) --expose-gc dist/bench/cache-memory.js
	-$(NODE) dist/bench/arp.js
	-$(NODE) dist/bench/arp-lab.js
	-$(NODE) dist/bench/lab.js
	-$(NODE) dist/bench/scale.js
	@# l2lb beside MetalLB v0.15.2, each from its own image on the cluster lab (BENCH_PEER_* set the scale).
	-$(NODE) dist/bench/peer.js
	-$(NODE) dist/e2e/lab/cli.js down >/dev/null
	$(NODE) dist/bench/report.js

image: build
	@# umoci writes the OCI layout and skopeo the docker-archive: no daemon, no registry (tools/image/).
	@e2e/setup/debs.sh umoci skopeo
	tools/image/build.sh
	tools/image/smoke.sh

bundle: generate-check
	@# bundle/ is generated from config/ (generate-check guards it); operator-framework's validator judges it.
	tools/bundle/verify.sh

clean: lab-down
	rm -rf dist node_modules/.l2lb-installed
