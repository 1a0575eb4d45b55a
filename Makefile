# keygate. The README's two commands are `make dev` and `make test`.
# Everything they need is installed from committed lock files: Go modules
# from go.sum, Node tools (dynalite, the CDK CLI) from tools/package-lock.json.

GO     ?= go
TOOLS  := tools/node_modules/.installed
# mk/infra.mk defines the tools rule only when this is unset.
KEYGATE_TOOLS_RULE := Makefile
PKGS   := ./...

.PHONY: help dev test vet test-go bench tools clean

help:
	@echo "make dev     run keygate locally: the API (gateway, authorizer, functions, dynalite), cognito-local, the web console"
	@echo "make test    install what tests need, go vet, go test (root module and infra/)"
	@echo "make bench   benchmarks and the throughput report (bench.txt)"
	@echo "make console build the web console (console/dist);  make screenshots  PNGs of it into docs/"
	@echo "make soak    the local stack for 5 min under mixed load with a store outage: docs/soak.txt, docs/soak.png"
	@echo "             (SOAK_DURATION=30s for a quick look; make soak-quick writes to build/soak/)"
	@echo "make build   cross-compile every Lambda to build/<name>/bootstrap (linux/arm64)"
	@echo "make synth   synthesize the CDK app offline;  make deploy / make destroy"

tools: $(TOOLS)

# Node tools, installed exactly as locked.
$(TOOLS): tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund
	touch $@

dev: $(TOOLS) console
	$(GO) run ./cmd/keygate-dev

vet:
	$(GO) vet $(PKGS)

# The browser tests (e2e/browser) need the built console and Debian's
# chromium; KEYGATE_REQUIRE_BROWSER makes them fail, not skip, without them.
test-go: $(TOOLS) console chromium vet
	KEYGATE_REQUIRE_BROWSER=1 $(GO) test -count=1 $(PKGS)

test: test-go test-infra

bench: $(TOOLS)
	./scripts/bench.sh | tee bench.txt

clean:
	rm -rf build cdk.out bench.txt console/dist

-include mk/*.mk
