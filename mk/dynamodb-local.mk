# A second DynamoDB implementation in CI: the store, keys, metering and e2e
# tests against Amazon DynamoDB Local (scripts/dynamodb-local.sh says what it
# installs and how it runs). .ci/run runs it after `make test`.
#   make test-dynamodb-local
#   make test-dynamodb-local DYNAMODB_LOCAL_FLAGS="-run TestRotation -v"
# Its jar comes from npm (amplify-dynamodb-simulator, pinned in
# tools/dynamodb-local/package-lock.json) and runs on Debian's
# openjdk-17-jre-headless. It is kept out of tools/, so `make dev` and
# `make test` never download it.

DYNAMODB_LOCAL_NPM := tools/dynamodb-local/node_modules/.installed

.PHONY: test-dynamodb-local

$(DYNAMODB_LOCAL_NPM): tools/dynamodb-local/package.json tools/dynamodb-local/package-lock.json | check-env
	@echo "== installing Amazon DynamoDB Local (npm amplify-dynamodb-simulator, its jar only runs) from tools/dynamodb-local/package-lock.json"
	cd tools/dynamodb-local && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# $(TOOLS): the e2e tests start dynalite for the few tests that stop or pause
# a store of their own.
test-dynamodb-local: $(DYNAMODB_LOCAL_NPM) $(TOOLS)
	./scripts/dynamodb-local.sh
