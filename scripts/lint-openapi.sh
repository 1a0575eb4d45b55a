#!/usr/bin/env bash
# make lint-openapi: Redocly CLI (pinned in tools/package.json) lints
# docs/openapi.yaml with its recommended rules, offline (telemetry and update
# checks off). On Node.js 20 Redocly prints a large boxed notice that Node 20
# reached end-of-life, which no setting turns off; this drops that box (only a
# box that names Node.js) and passes everything else through, exit status
# included.
set -o pipefail
cd "$(dirname "$0")/.."
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  tools/node_modules/.bin/redocly lint --config docs/redocly.yaml --format=summary docs/openapi.yaml 2>&1 |
  awk '
    /^[[:space:]]*╔/ { inbox = 1; box = $0 "\n"; next }
    inbox { box = box $0 "\n"; if (/^[[:space:]]*╚/) { inbox = 0; if (box !~ /Node\.js/) printf "%s", box; else skipblank = 1 }; next }
    skipblank && /^[[:space:]]*$/ { next }
    { skipblank = 0; print }
    END { if (inbox) printf "%s", box }
  '
