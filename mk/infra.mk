# Build, synthesize, deploy and test keygate's infrastructure (infra/, the CDK
# app; cdk.json at the root). Included by the root Makefile; works alone too:
#   make -f mk/infra.mk build | synth | deploy | destroy | test-infra
# Pass CDK CLI arguments with CDK_ARGS, e.g. make deploy CDK_ARGS="-c stage=prod".

INFRA_GO      ?= go
INFRA_CDK     := tools/node_modules/.bin/cdk
TOOLS_STAMP   ?= tools/node_modules/.installed
CDK_ARGS      ?=
# The jsii runtime prints an end-of-life banner on Node 20 for every synth.
INFRA_ENV     := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

# One bootstrap per Lambda, for provided.al2023 on arm64 (the same names as
# LambdaNames in infra/stack/functions.go). The authorizer's main package is
# ./authorizer/lambda, every other one ./functions/<name> (pretokengen, the
# Cognito trigger, included).
INFRA_LAMBDAS        := authorizer createkey listkeys updatekey revokekey rotatekey usage scopes auditlog \
                        wslistkeys wscreatekey wsrevokekey wsrotatekey wsauditlog secretscan pretokengen \
                        auditpublish auditsweep keyexpiring
INFRA_PKG_authorizer := ./authorizer/lambda
INFRA_BOOTSTRAPS     := $(INFRA_LAMBDAS:%=build/%/bootstrap)

# What the CDK app reads (infra/main.go): the binaries and the web console,
# which mk/console.mk's `console` target builds into CONSOLE_DIR. Recursive (=)
# on purpose: the value is read when a recipe runs, after every mk/*.mk,
# whatever their order.
INFRA_APP_ENV = $(INFRA_ENV) KEYGATE_CONSOLE_DIR=$(CONSOLE_DIR)

.PHONY: build synth deploy destroy cdk-bootstrap test-infra infra-always

# The example product's Lambda (examples/reports), for its CDK app: built
# beside keygate's, the same way.
EXAMPLE_LAMBDAS      := reports
INFRA_PKG_reports    := ./examples/reports/cmd/reports

build: $(INFRA_BOOTSTRAPS) $(EXAMPLE_LAMBDAS:%=build/%/bootstrap)

# Always handed to go build, whose cache knows better than make what changed.
build/%/bootstrap: infra-always
	@mkdir -p $(@D)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(INFRA_GO) build -tags lambda.norpc -trimpath -ldflags="-s -w" \
		-o $@ $(or $(INFRA_PKG_$*),./functions/$*)

infra-always:

# Offline and without AWS credentials: the app is environment-agnostic and
# does no context lookups. cdk-nag errors fail the synth.
synth: build console $(TOOLS_STAMP)
	$(INFRA_APP_ENV) $(INFRA_CDK) synth --quiet $(CDK_ARGS)

# First deploy to an account/region needs `make cdk-bootstrap` once.
deploy: build console $(TOOLS_STAMP)
	$(INFRA_APP_ENV) $(INFRA_CDK) deploy $(CDK_ARGS)

# The app is synthesized to find the stack, so it needs the binaries and a
# console too.
destroy: build console $(TOOLS_STAMP)
	$(INFRA_APP_ENV) $(INFRA_CDK) destroy $(CDK_ARGS)

cdk-bootstrap: $(TOOLS_STAMP)
	$(INFRA_ENV) $(INFRA_CDK) bootstrap $(CDK_ARGS)

# keygate's construct and stack (infra/), then the example product's CDK app
# (examples/reports/cdk, a module of its own, on keygate's construct). Each
# module synthesizes in one test package, so each starts node once.
test-infra:
	cd infra && $(INFRA_ENV) $(INFRA_GO) vet ./... && $(INFRA_ENV) $(INFRA_GO) test ./...
	cd examples/reports/cdk && $(INFRA_ENV) $(INFRA_GO) vet ./... && $(INFRA_ENV) $(INFRA_GO) test ./...

# Read alone, this file brings what the root Makefile would: the pinned Node
# tools (aws-cdk CLI, dynalite), check-env (which the console's npm install
# waits for) and mk/console.mk's console. A root Makefile that wants its own
# tools recipe sets KEYGATE_TOOLS_RULE to skip all three.
ifndef KEYGATE_TOOLS_RULE
KEYGATE_TOOLS_RULE := mk/infra.mk
tools/node_modules/.installed: tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund && touch node_modules/.installed
.PHONY: check-env
check-env:
	@./scripts/check-env.sh
include $(dir $(lastword $(MAKEFILE_LIST)))console.mk
endif
