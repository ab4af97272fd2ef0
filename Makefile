# livestream-operator: every target runs on the Node 24 that `npm ci` installs into node_modules/.bin.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Go last: the tool builds need it, and a fresh root shell may not have /usr/local/go/bin on PATH.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH):/usr/local/go/bin

NODE := node
# Outside .cluster: starting a cluster wipes that directory, and CI sums the reports of both tiers at the end.
REPORT_DIR := test-results

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

node_modules/.package-lock.json: package-lock.json
	npm ci
	@touch $@

.PHONY: deps
deps: node_modules/.package-lock.json ## Install npm dependencies (including the Node 24 runtime)

# The Debian packages (hack/install-system-packages.sh, the list CI uses too): one dpkg-query when all are there.
.PHONY: system-deps system-deps-test
system-deps: ## Install the Debian packages of every target (the node, the images; needs root when one is missing)
	@hack/install-system-packages.sh all
system-deps-test: ## Install the Debian packages make test needs (ffmpeg, Redis, Chromium, nginx, wrk)
	@hack/install-system-packages.sh test

.PHONY: tools
tools: system-deps ## Build (or load from cache) etcd, the Kubernetes components, helm, promtool, MinIO, CoreDNS and pause
	@for t in etcd kubernetes helm promtool minio coredns pause; do \
	  start=$$(date +%s%N); dir=$$(hack/tools/build.sh $$t); \
	  printf 'tool %-10s %6d ms  %s\n' $$t $$(( ($$(date +%s%N) - start) / 1000000 )) "$$dir"; \
	done

.PHONY: cluster-up
cluster-up: deps ## Start the local control plane; writes .cluster/kubeconfig
	$(NODE) hack/cluster/cli.ts up

.PHONY: cluster-down
cluster-down: deps ## Stop every process of the local control plane and free its ports
	$(NODE) hack/cluster/cli.ts down

.PHONY: cluster-status
cluster-status: deps ## Tell whether the local control plane runs
	$(NODE) hack/cluster/cli.ts status

.PHONY: typecheck
typecheck: deps ## Type-check everything with tsc
	tsc --noEmit -p tsconfig.json

.PHONY: lint
lint: deps ## ESLint (type-aware) and the formatter check
	eslint .
	prettier --check .

.PHONY: format
format: deps ## Format the sources
	prettier --write .

.PHONY: generate
generate: deps ## Regenerate the TypeScript types from crds/livestream.yaml
	$(NODE) scripts/generate-types.ts

.PHONY: verify
verify: deps ## Fail when generated files (types, the chart's CRD copy) are stale
	$(NODE) scripts/generate-types.ts --check
	$(NODE) scripts/sync-chart-crd.ts --check

.PHONY: long-functions
long-functions: deps ## List product functions over 80 lines (exits 1 when there is one)
	$(NODE) scripts/long-functions.ts

.PHONY: duplicates
duplicates: ## List code written twice in the tree (the duplicates tool; rows are places to look)
	duplicates --most 60 --seconds 120

.PHONY: chart-sync
chart-sync: deps ## Copy crds/ into the chart
	$(NODE) scripts/sync-chart-crd.ts

.PHONY: chart-lint
chart-lint: deps ## helm lint --strict on the chart, and its CRD copy checked
	$$(hack/tools/build.sh helm)/helm lint --strict charts/livestream-operator
	$(NODE) scripts/sync-chart-crd.ts --check

.PHONY: test
test: system-deps-test deps typecheck lint verify ## Type-check, lint, verify, then every test tier but e2e (starts and stops a control plane)
	@mkdir -p $(REPORT_DIR) && rm -f $(REPORT_DIR)/test.json
	@status=0; vitest run --project unit --project kube --project media \
	  --reporter=default --reporter=json --outputFile.json=$(REPORT_DIR)/test.json || status=$$?; \
	$(NODE) scripts/test-summary.ts $(REPORT_DIR)/test.json; exit $$status

.PHONY: test-unit
test-unit: deps ## Unit tests only
	vitest run --project unit

.PHONY: bench-operator
bench-operator: deps ## 500 LiveStreams on a control plane of its own; prints one JSON line
	$(NODE) bench/operator.ts 500

.PHONY: bench-fleet
bench-fleet: deps ## kwok fake nodes, LSO_FLEET_CHANNELS channels (default 100) in LSO_FLEET_NAMESPACES; one JSON line
	$(NODE) bench/fleet.ts

.PHONY: bench-ladder
bench-ladder: deps ## Our ladder against the seed's, CPU per second of content; prints one JSON line
	$(NODE) bench/ladder.ts

.PHONY: bench-origin
bench-origin: deps ## Our HLS origin against nginx, and viewers served; prints one JSON line
	$(NODE) bench/origin.ts

.PHONY: bench-gateway
bench-gateway: deps ## Routed against direct publish, playback through the gateway against the origin; one JSON line
	$(NODE) bench/gateway.ts

.PHONY: bench-thumbnail
bench-thumbnail: deps ## CPU of the default ladder's ffmpeg with and without thumbnails, side by side on one 720p30 source; one JSON line
	$(NODE) bench/thumbnail.ts

.PHONY: bench-latency
bench-latency: deps ## Glass-to-glass latency of HLS (direct, through the gateway) and HTTP-FLV, 60 s each in one run; one JSON line
	$(NODE) bench/latency.ts

.PHONY: bench-whip
bench-whip: deps ## CPU per WHIP publish (720p30, gateway + bridge ffmpeg) and glass-to-glass to hls.js, beside RTMP of the same source; one JSON line
	$(NODE) bench/whip.ts

.PHONY: bench-stats
bench-stats: deps ## Stats API answer times (p50/p95/max per kind) over 100,000 seeded sessions on a throwaway PostgreSQL; one JSON line
	$(NODE) bench/stats.ts

.PHONY: images
images: system-deps deps ## Build (or load from cache) the images; also OCI archives for kind, k3d, containerd (README: Images)
	hack/images/build-images.sh --oci

.PHONY: test-images
test-images: images ## Run the images: Node 24, ffmpeg, the operator taking the Lease, the transcoder's ingest
	vitest run --project images

.PHONY: node-up
node-up: system-deps deps ## Start the local cluster with a node (containerd, kubelet, kube-proxy, CoreDNS) and the images loaded
	$(NODE) hack/cluster/cli.ts up --node

.PHONY: e2e
e2e: system-deps deps ## The images, then the end-to-end suite on a cluster with a node (started and stopped here unless one runs or KUBECONFIG is set)
	@mkdir -p $(REPORT_DIR) && rm -f $(REPORT_DIR)/e2e.json
	@status=0; vitest run --project images --project e2e --reporter=default --reporter=json --outputFile.json=$(REPORT_DIR)/e2e.json || status=$$?; \
	$(NODE) scripts/test-summary.ts $(REPORT_DIR)/e2e.json; exit $$status

.PHONY: demo
demo: system-deps deps ## One command to a live channel: cluster + node (or KUBECONFIG's), chart, a LiveStream, a publisher; prints the player URL
	$(NODE) hack/demo.ts

.PHONY: demo-stop
demo-stop: ## Stop the demo's publisher (and port-forward); the cluster stays up (make cluster-down stops it)
	@if [ -f .cluster/demo/pids ]; then xargs -r kill -- < .cluster/demo/pids 2>/dev/null || true; rm -f .cluster/demo/pids; fi
	@echo "demo publisher stopped"
