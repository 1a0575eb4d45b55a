# Lint docs/openapi.yaml with Redocly CLI, pinned in tools/package.json. The Go
# tests validate the document too (go test ./docs/ ./internal/apispec/); this
# adds Redocly's recommended rules. Offline: telemetry and update checks off.

.PHONY: lint-openapi

lint-openapi: tools/node_modules/.installed
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		tools/node_modules/.bin/redocly lint --config docs/redocly.yaml --format=summary docs/openapi.yaml
