# keygate. The README's two commands are `make dev` and `make test`.
# Everything they need is installed from committed lock files: Go modules
# from go.sum, Node tools (dynalite, the CDK CLI) from tools/package-lock.json.

GO     ?= go
TOOLS  := tools/node_modules/.installed
# mk/infra.mk defines the tools rule only when this is unset.
KEYGATE_TOOLS_RULE := Makefile
PKGS   := ./...

.PHONY: help dev test vet test-go bench tools clean check-env

help:
	@echo "The two commands:"
	@echo "  make dev           run keygate locally: the web console, cognito-local with demo users, the API, dynalite"
	@echo "  make test          install what tests need, lint the OpenAPI document, go vet, go test (root module, infra/, the example's CDK app)"
	@echo "Tests and measurements:"
	@echo "  make test-go       the root module's vet and tests only;  make test-infra  the CDK tests only (infra/, examples/reports/cdk)"
	@echo "  make vet           go vet ./...;  make lint-openapi  lint docs/openapi.yaml with Redocly CLI"
	@echo "  make test-dynamodb-local   the store, keys, metering and e2e tests against Amazon DynamoDB Local (CI runs it after make test)"
	@echo "  make bench         benchmarks and the throughput report (bench.txt)"
	@echo "  make fuzz          every fuzz target for FUZZTIME each (default 60s; FUZZ=<regexp> picks targets)"
	@echo "  make soak          5 min under mixed load with a store outage: docs/soak.txt, docs/soak.png (SOAK_DURATION)"
	@echo "  make soak-quick    30 s of the same into build/soak/;  make soak-vet  vet the soak program (part of make test)"
	@echo "Pieces:"
	@echo "  make tools         the pinned Node tools (tools/package-lock.json); every target that needs them does it first"
	@echo "  make console       build the web console (console/dist);  make screenshots  PNGs of it into docs/"
	@echo "  make chromium      Debian's chromium for the browser tests (when missing: apt-get --no-install-recommends, as root)"
	@echo "  make check-env     check Go >= 1.26, Node >= 20 and npm (make dev and make test do it first)"
	@echo "  make clean         remove build outputs (build/, cdk.out/, bench.txt, console/dist and its generated types)"
	@echo "Deploying (see the README's Deploy section):"
	@echo "  make build         cross-compile every Lambda, the example product's too, to build/<name>/bootstrap (linux/arm64)"
	@echo "  make synth         synthesize the CDK app offline (cdk-nag included)"
	@echo "  make deploy / make destroy / make cdk-bootstrap   with AWS credentials; CDK_ARGS=\"-c key=value\""
	@echo "Operators: go run ./cmd/keygate-admin help"

tools: $(TOOLS)

# Go, Node and npm, checked once before anything is built or installed.
check-env:
	@./scripts/check-env.sh

# Node tools, installed exactly as locked.
$(TOOLS): tools/package.json tools/package-lock.json | check-env
	@echo "== installing the pinned Node tools (dynalite, cognito-local, the CDK CLI) from tools/package-lock.json; the first time takes a minute or two"
	cd tools && npm ci --no-audit --no-fund
	touch $@

# Built, then run as make's own child: Ctrl-C stops it cleanly (exit 0), where
# `go run` would turn the interrupt into "Error 1". check-env runs first, as
# $(TOOLS) and the console's npm install both wait for it.
dev: $(TOOLS) console
	@echo "== building keygate-dev: a first build compiles ~390 packages (Go's standard library, the AWS SDK, keygate),"
	@echo "   35 s of compiling on two idle cores, 2 minutes or more on a busy machine; later builds take a second or two"
	@GO=$(GO) ./scripts/build-dev.sh .dev/bin/keygate-dev ./cmd/keygate-dev
	@echo "== starting dynalite, cognito-local, the API and the console"
	@exec .dev/bin/keygate-dev

vet:
	@echo "== go vet"
	$(GO) vet $(PKGS)

# The packages with shared state run under the race detector: the caches
# (shared/lru, the authorizer's, the JWKS verifier's in shared/cognito), the
# metrics recorder, the Lambda adapter and guard (its wrapper for product
# Lambdas, with a cache of header names), the key service and the store, the
# meter, the handlers, the local gateway and stack, and the end-to-end tests
# that drive all of them at once in one process. The rest (pure functions,
# the Lambda mains, the browser and packaging tests, which spend their time
# in chromium and the emulator) run without it. -race costs a second compile
# of the AWS SDK and 2-10x the CPU of those tests (README, Tests).
MODULE    := github.com/keygate/keygate
RACE_PKGS := $(addprefix $(MODULE)/,authorizer shared/lru shared/metrics shared/lambdahttp shared/keys \
               shared/cognito shared/dynamo shared/metering shared/secretscan functions/handlers \
               local/gateway local/devstack internal/testenv internal/apispec e2e cmd/keygate-admin cmd/keygate-dev guard)

# The browser tests (e2e/browser) need the built console and Debian's
# chromium; KEYGATE_REQUIRE_BROWSER makes them fail, not skip, without them.
test-go: $(TOOLS) console chromium vet
	@echo "== go test -race over the packages with shared state (a cold cache compiles the AWS SDK and more first, with and without -race: 4-7 minutes; warm about 3; a line per package as it finishes)"
	KEYGATE_REQUIRE_BROWSER=1 $(GO) test -count=1 -race $(RACE_PKGS)
	@echo "== go test over the other packages"
	KEYGATE_REQUIRE_BROWSER=1 $(GO) test -count=1 $(filter-out $(RACE_PKGS),$(shell $(GO) list $(PKGS)))

test: test-go test-infra lint-openapi soak-vet

bench: $(TOOLS)
	./scripts/bench.sh | tee bench.txt

clean:
	rm -rf build cdk.out bench.txt console/dist console/src/generated

-include mk/*.mk
