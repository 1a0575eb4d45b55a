#!/usr/bin/env bash
# Checks, before anything is built or installed, that this machine has what
# keygate needs: Go >= 1.26, Node.js >= 20 and npm. One clear message per
# missing or too old tool, then exit 1.
set -u
fail=0
need() { echo "keygate needs $1; $2" >&2; fail=1; }

if ! command -v go >/dev/null 2>&1; then
  need "Go 1.26 or later" "go is not on PATH (install it from your package manager or Go's downloads, then retry)."
else
  v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  major=${v%%.*}; rest=${v#*.}; minor=${rest%%[.a-z]*}
  if [ -z "$v" ] || [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "${minor:-0}" -lt 26 ]; }; then
    need "Go 1.26 or later" "this is go $v."
  fi
fi
if ! command -v node >/dev/null 2>&1; then
  need "Node.js 20 or later" "node is not on PATH (dynalite, cognito-local, the CDK CLI and the console build run on it)."
else
  v=$(node --version 2>/dev/null | sed 's/^v//')
  if [ "${v%%.*}" -lt 20 ] 2>/dev/null; then
    need "Node.js 20 or later" "this is node $v."
  fi
fi
if ! command -v npm >/dev/null 2>&1; then
  need "npm" "npm is not on PATH (it comes with Node.js; it installs the pinned tools from the lock files)."
fi
exit $fail
