# Lint docs/openapi.yaml with Redocly CLI, pinned in tools/package.json. The Go
# tests validate the document too (go test ./docs/ ./internal/apispec/); this
# adds Redocly's recommended rules. Offline: telemetry and update checks off;
# Redocly's Node 20 end-of-life box left out (scripts/lint-openapi.sh).

.PHONY: lint-openapi

lint-openapi: tools/node_modules/.installed
	@echo "== lint docs/openapi.yaml (Redocly CLI)"
	@./scripts/lint-openapi.sh
