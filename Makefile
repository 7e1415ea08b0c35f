# Chirper's main interface: `make` lists the targets.

GO        ?= go
BIN       ?= bin
BENCH_OUT ?= $(BIN)/bench.txt
WITH_PG   := deploy/scripts/with-postgres.sh

.DEFAULT_GOAL := help
.PHONY: help build run test test-short bench loadtest lint fmt clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build every binary into ./bin
	$(GO) build -trimpath -o $(BIN)/ ./cmd/...

run: build ## run the standalone server with zero configuration (SQLite and a signing key in ./data)
	$(BIN)/standalone serve

test: ## run every test, PostgreSQL included (starts a throwaway server unless TEST_DATABASE_URL is set)
	TEST_REQUIRE_POSTGRES=1 $(WITH_PG) $(GO) tool gotestsum --format testname -- -count=1 -race ./...

test-short: ## run the tests that need no PostgreSQL (they say loudly that they skip)
	$(GO) test ./...

bench: ## benchmark the list queries on PostgreSQL at 10,000 and 1,000,000 chirps, summarised by benchstat
	@mkdir -p $(BIN)
	TEST_REQUIRE_POSTGRES=1 $(WITH_PG) $(GO) test -run '^$$' -bench . -benchmem -count 6 ./pkg/postgres/ | tee $(BENCH_OUT)
	$(GO) tool benchstat -col /chirps $(BENCH_OUT)

loadtest: ## requests/s and p99 of the standalone on PostgreSQL under wrk (64 connections, 127.0.0.1)
	$(WITH_PG) deploy/scripts/loadtest.sh

lint: ## check formatting (gofmt) and vet the code
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

clean: ## remove build output and the local data directory
	rm -rf $(BIN) data
