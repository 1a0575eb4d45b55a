# The web console (console/, TypeScript) and its browser tests. Included by
# the root Makefile.
#   make console       npm ci (console/package-lock.json), type-check, build console/dist
#   make chromium      Debian's chromium for the browser tests (apt-get when missing; never downloaded otherwise)
#   make screenshots   PNGs of the main screens into docs/ (runs the web app and the browser)

CONSOLE_NPM   := console/node_modules/.installed
CONSOLE_DIR   := console/dist
CONSOLE_DIST  := $(CONSOLE_DIR)/index.html
CONSOLE_SRC   := $(wildcard console/src/*) console/index.html console/build.mjs console/tsconfig.json

.PHONY: console chromium screenshots

console: $(CONSOLE_DIST)

$(CONSOLE_NPM): console/package.json console/package-lock.json | check-env
	cd console && npm ci --no-audit --no-fund
	touch $@

$(CONSOLE_DIST): $(CONSOLE_NPM) $(CONSOLE_SRC)
	cd console && npm run --silent typecheck && npm run --silent build

chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ echo "installing Debian's chromium for the browser tests"; \
		  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

screenshots: $(TOOLS) console chromium
	mkdir -p docs
	KEYGATE_SCREENSHOTS=$(CURDIR)/docs KEYGATE_REQUIRE_BROWSER=1 $(GO) test -count=1 -run 'TestScreenshots' -v ./e2e/browser
