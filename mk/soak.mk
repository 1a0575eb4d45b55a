# make soak: the local stack (gateway, authorizer, functions, dev issuer in one
# process; dynalite beside it) for SOAK_DURATION under a mixed load at
# SOAK_CONCURRENCY, with the store stopped and restarted once in the middle.
# It checks over-admission, 5xx, 503s outside the outage, that every created
# key is still listed, and that the stack's memory stays flat; it writes
# $(SOAK_OUT)/soak.txt and soak.png and fails if a check fails.
#   make soak                          5 minutes, 16 in flight, into docs/
#   make soak-quick                    30 seconds, into build/soak/ (docs/ untouched)
#   make soak SOAK_DURATION=10m SOAK_CONCURRENCY=32
# Other settings: SOAK_OUTAGE (default duration/15, 3-20 s), SOAK_STORE_PORT
# (dynalite's fixed port, 18470), SOAK_KEY_LIMIT (daily limit of the keys
# driven past it, 300). The program is its own Go module (e2e/soak), so the
# plotting library never reaches the root module or a Lambda.

SOAK_DURATION ?= 5m
SOAK_OUT      ?= $(CURDIR)/docs
export SOAK_DURATION SOAK_OUT

.PHONY: soak soak-quick soak-vet

soak: $(TOOLS)
	@echo "soak: $(SOAK_DURATION) under load (first build of e2e/soak compiles the plotting library, ~30 s)"
	cd e2e/soak && $(GO) run .

soak-quick:
	$(MAKE) soak SOAK_DURATION=30s SOAK_OUT=$(CURDIR)/build/soak

# Compile and vet the soak program (it is outside ./..., so `make vet` skips it).
soak-vet:
	cd e2e/soak && $(GO) vet ./...
