# Chirper's main interface: `make` lists the targets.

GO        ?= go
BIN       ?= bin
BENCH_OUT ?= $(BIN)/bench.txt
WITH_PG   := deploy/scripts/with-postgres.sh
CHECKS    := deploy/checks
# docker compose, else Debian's docker-compose 1.29 (which knows no top-level
# name: hence -p; and needs --compatibility for deploy.replicas).
COMPOSE   ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo "docker-compose --compatibility") -p chirper
# The CloudFormation resource specification the templates are checked against.
CFN_SPEC_PKG := @aws-cdk/aws-service-spec@0.1.216
# Run in its own module: its YAML library clashes with compose-go's.
ACTIONLINT   := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
CFN_SPEC     := $(BIN)/cfn-spec/node_modules/@aws-cdk/aws-service-spec/db.json.gz
# The OpenAPI linters, pinned; installed into bin/ by make lint.
OAS_LINT_PKGS := @redocly/cli@2.77.0 @stoplight/spectral-cli@6.16.3
OAS_LINT      := $(BIN)/oas-lint/node_modules/.bin
API_DOC       := pkg/httpapi/openapi.yaml
# The contract test generated from the OpenAPI document (portman lacks its
# tslib dependency, hence the third package); installed into bin/ by make test.
CONTRACT_PKGS  := @apideck/portman@1.33.0 newman@6.2.2 tslib@2.9.1
CONTRACT_TOOLS := $(BIN)/contract/node_modules/.bin
# The API reference page's assets (pkg/httpapi/docs), from this npm package.
SWAGGER_UI    := swagger-ui-dist@5.35.0

.DEFAULT_GOAL := help
.PHONY: images compose-test help build run run-services cfn-generate test test-short test-faults fuzz bench bench-load images-check keys up up-services down lint fmt clean chromium docs-assets

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build every binary into ./bin (static, as in the images)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/...

run: build ## run the standalone server with zero configuration (SQLite and a signing key in ./data)
	$(BIN)/standalone serve

run-services: build ## run the five services and their gateway on :8080 (starts PostgreSQL unless CHIRPER_DATABASE_URL is set)
	@if [ -n "$$CHIRPER_DATABASE_URL" ]; then $(GO) run ./deploy/local -bin $(BIN); \
	else $(WITH_PG) sh -c 'CHIRPER_DATABASE_URL="$$TEST_DATABASE_URL" $(GO) run ./deploy/local -bin $(BIN)'; fi

test: $(CFN_SPEC) $(CONTRACT_TOOLS)/newman chromium ## run every test, PostgreSQL, the browser and the deployment checks included, and each fuzz target briefly (starts a throwaway PostgreSQL unless TEST_DATABASE_URL is set)
	FUZZTIME=2000x deploy/scripts/fuzz.sh
	CFN_SPEC_DB=$(CURDIR)/$(CFN_SPEC) TEST_REQUIRE_POSTGRES=1 TEST_REQUIRE_CHROMIUM=1 TEST_CONTRACT_TOOLS=$(CURDIR)/$(CONTRACT_TOOLS) $(WITH_PG) $(GO) tool gotestsum --format testname --raw-command -- \
		sh -c '$(GO) test -json -count=1 -race ./... && cd $(CHECKS) && $(GO) test -json -count=1 ./...'

test-faults: ## the fault suite: kills, a PostgreSQL outage, hot tags, slow clients, limiter memory (about 2 minutes; 127.0.0.1 only)
	@# Always a throwaway PostgreSQL of its own, even with TEST_DATABASE_URL set: the suite stops and starts it.
	env -u TEST_DATABASE_URL TEST_REQUIRE_POSTGRES=1 $(WITH_PG) $(GO) tool gotestsum --format standard-verbose -- -tags faults -count=1 -timeout 10m ./deploy/faults/

FUZZTIME ?= 60s
fuzz: ## run every fuzz target for FUZZTIME (default 60s) each and add what it finds to the committed corpus
	FUZZTIME=$(FUZZTIME) SAVE_CORPUS=1 deploy/scripts/fuzz.sh

test-short: ## run the tests without a PostgreSQL server: those that need one are listed as SKIP
	env -u TEST_DATABASE_URL -u CI $(GO) tool gotestsum --format testname -- ./...

bench: ## benchmark the list queries on PostgreSQL at 10,000 and 1,000,000 chirps, summarised by benchstat
	@mkdir -p $(BIN)
	TEST_REQUIRE_POSTGRES=1 PG_DURABLE=1 $(WITH_PG) $(GO) test -run '^$$' -bench . -benchmem -count 6 ./pkg/postgres/ | tee $(BENCH_OUT)
	$(GO) tool benchstat -col /chirps $(BENCH_OUT)

BENCH_LOAD_FLAGS ?= -d 10s
bench-load: ## Chirper under wrk as ratios to this machine's limits (bare net/http, pgbench, SQLite loops), in one pass on a durable throwaway PostgreSQL (about 12 minutes)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } \
		|| { echo "bench-load needs wrk (Debian: apt-get install wrk)"; exit 1; }
	PG_DURABLE=1 $(WITH_PG) $(GO) run ./deploy/benchload $(BENCH_LOAD_FLAGS)

chromium: ## install headless Chromium (Debian's package) for the API reference page's test, when missing
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
		{ echo "the browser test needs Chromium (Debian: apt-get install chromium)"; exit 1; }

docs-assets: ## fetch the API reference page's Swagger UI files again from npm ($(SWAGGER_UI)), gzipped, into pkg/httpapi/docs
	rm -rf $(BIN)/swagger-ui && mkdir -p $(BIN)/swagger-ui
	cd $(BIN)/swagger-ui && npm pack --silent $(SWAGGER_UI) >/dev/null && tar xzf swagger-ui-dist-*.tgz
	for f in swagger-ui-bundle.js swagger-ui.css; do gzip -9 -n -c $(BIN)/swagger-ui/package/$$f > pkg/httpapi/docs/$$f.gz; done
	cp $(BIN)/swagger-ui/package/LICENSE pkg/httpapi/docs/LICENSE.swagger-ui
	cp $(BIN)/swagger-ui/package/swagger-ui-bundle.js.LICENSE.txt pkg/httpapi/docs/

$(CONTRACT_TOOLS)/newman:
	npm install --no-audit --no-fund --silent --prefix $(BIN)/contract $(CONTRACT_PKGS)

$(CFN_SPEC):
	npm install --no-audit --no-fund --silent --prefix $(BIN)/cfn-spec $(CFN_SPEC_PKG)

cfn-generate: ## write deploy/cloudformation/app.yaml from the routing table and its template
	cd $(CHECKS) && $(GO) run ./cmd/gen-app -o ../cloudformation/app.yaml

images-check: ## run every Dockerfile's build command as a plain command and report the binary sizes
	cd $(CHECKS) && $(GO) run ./cmd/images-check -root ../..

DOCKERD := deploy/scripts/dockerd.sh

images: ## build every image with Docker, unchanged from its Dockerfile (an engine of its own when none runs; base-image stand-ins when no registry answers)
	$(DOCKERD) run sh -c 'deploy/scripts/base-images.sh && deploy/scripts/build-images.sh'

compose-test: keys ## run docker-compose.yml's services for real: build every image, bring them up, run the API suite through the gateway and the checks of a real run, tear down (about 5 minutes)
	$(DOCKERD) run sh -c 'deploy/scripts/base-images.sh && CHIRPER_COMPOSE="$(COMPOSE)" $(GO) test -tags compose -count=1 -v -timeout 20m ./deploy/compose/'

keys: ## make a development signing key pair in data/keys for docker compose
	$(GO) run ./cmd/standalone keygen data/keys
	@# Compose bind-mounts secrets with the host's modes and the services run
	@# as nonroot: this development key must be readable. Production keys live
	@# in SSM Parameter Store.
	chmod 0644 data/keys/signing-key.pem

up: ## docker compose: PostgreSQL and the standalone on :8080
	$(COMPOSE) --profile standalone up -d --build

up-services: keys ## docker compose: PostgreSQL, the four services and the gateway on :8080
	$(COMPOSE) --profile services up -d --build

down: ## docker compose: stop everything (the PostgreSQL volume stays)
	$(COMPOSE) --profile standalone --profile services down

lint: $(OAS_LINT)/spectral ## check formatting (gofmt), vet the code, lint the workflows and the OpenAPI document (redocly, spectral: no errors, no warnings)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags faults ./deploy/faults/
	cd $(CHECKS) && $(GO) vet ./...
	$(GO) run $(ACTIONLINT) .github/workflows/*.yml
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(OAS_LINT)/redocly lint --config pkg/httpapi/redocly.yaml $(API_DOC)
	$(OAS_LINT)/spectral lint --fail-severity=warn -r pkg/httpapi/.spectral.yaml $(API_DOC)

$(OAS_LINT)/spectral:
	npm install --no-audit --no-fund --silent --prefix $(BIN)/oas-lint $(OAS_LINT_PKGS)

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

clean: ## remove build output and the local data directory
	rm -rf $(BIN) data
