# The README's two commands are `make demo` and `make test`; .ci/run uses the
# same `make test`.

GO ?= go
# Extra flags for the demo, e.g. make demo ARGS="-ticker 2s -mode nethttp".
ARGS ?=

# Stamps record that a step ran for the current inputs, so repeated runs
# (every `make test`, every `make demo`) cost nothing.
NPM_STAMP := node_modules/.sioloop-npm-ci
BUNDLE_STAMP := internal/clientdist/dist/VERSION
PEERS_DIR := bench/peers/node
PEERS_STAMP := $(PEERS_DIR)/node_modules/.sioloop-npm-ci

.PHONY: demo demo-cluster test bundle bench-peers vet fmt-check

## demo: build the client bundle, then run the chat demo on :3000 (or $PORT).
demo: bundle
	$(GO) run ./examples/chat $(ARGS)

## demo-cluster: the same demo as three nodes on one Redis behind nginx, on
## :3000 (examples/cluster; starts redis-server and nginx, stops them on Ctrl-C).
demo-cluster: bundle
	$(GO) run ./examples/cluster $(ARGS)

## test: set up the machine (.ci/setup), then vet, gofmt, the race tests,
## the tests without -race (allocation tests and the soak run only there),
## and the siodebug build, which poisons released buffers.
test:
	bash .ci/setup
	$(MAKE) --no-print-directory vet fmt-check
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 ./...
	$(GO) test -tags siodebug -count=1 ./wsframe/... ./hub/... ./loop/... ./eio/... ./sio/... ./internal/...

## bundle: install the pinned npm packages and build the embedded socket.io client.
bundle: $(BUNDLE_STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# build.mjs leaves files that are already current alone; the touch keeps make
# from re-running it when nothing changed.
$(BUNDLE_STAMP): $(NPM_STAMP) internal/clientdist/build.mjs
	node internal/clientdist/build.mjs
	@touch $@

bench-peers: $(PEERS_STAMP)

# npm ci needs the lock file; without one (a peer still being written) the
# install goes ahead unpinned, without writing a lock, and says so.
$(PEERS_STAMP): $(PEERS_DIR)/package.json $(wildcard $(PEERS_DIR)/package-lock.json)
	@if [ -f $(PEERS_DIR)/package-lock.json ]; then \
		echo "cd $(PEERS_DIR) && npm ci"; cd $(PEERS_DIR) && npm ci --no-audit --no-fund; \
	else \
		echo "warning: $(PEERS_DIR) has no package-lock.json; installing unpinned versions" >&2; \
		cd $(PEERS_DIR) && npm install --no-package-lock --no-audit --no-fund; \
	fi
	@touch $@

vet:
	$(GO) vet ./...

# gofmt over every Go file except npm's tree.
fmt-check:
	@out=$$(find . -name '*.go' -not -path './node_modules/*' -not -path '*/node_modules/*' -print0 | xargs -0 gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
