# The web console (console/, TypeScript) and its browser tests. Included by
# the root Makefile.
#   make console       npm ci (console/package-lock.json), generate the wire types from docs/openapi.yaml,
#                      type-check, build console/dist
#   make chromium      Debian's chromium for the browser tests (apt-get --no-install-recommends when missing, as root;
#                      never downloaded otherwise)
#   make screenshots   PNGs of the main screens into docs/ (runs the web app and the browser)

CONSOLE_NPM   := console/node_modules/.installed
CONSOLE_DIR   := console/dist
CONSOLE_DIST  := $(CONSOLE_DIR)/index.html
# The wire types (console/src/generated/openapi.ts, not in git) are generated
# from docs/openapi.yaml by openapi-typescript, so the document is a source of
# the console: a field it renames is a tsc error here, in make test.
CONSOLE_SRC   := $(filter-out console/src/generated,$(wildcard console/src/*)) console/index.html console/build.mjs \
	console/tsconfig.json console/typegen/generate.mjs docs/openapi.yaml

.PHONY: console chromium screenshots

console: $(CONSOLE_DIST)

$(CONSOLE_NPM): console/package.json console/package-lock.json console/typegen/package.json | check-env
	cd console && npm ci --no-audit --no-fund
	touch $@

$(CONSOLE_DIST): $(CONSOLE_NPM) $(CONSOLE_SRC)
	cd console && npm run --silent types && npm run --silent typecheck && npm run --silent build

# Says what it installs and why first; installs without recommended packages;
# as a non-root user prints the exact command instead (scripts/chromium.sh).
chromium:
	@./scripts/chromium.sh

screenshots: $(TOOLS) console chromium
	mkdir -p docs
	KEYGATE_SCREENSHOTS=$(CURDIR)/docs KEYGATE_REQUIRE_BROWSER=1 $(GO) test -count=1 -run 'TestScreenshots' -v ./e2e/browser
