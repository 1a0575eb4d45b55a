#!/usr/bin/env bash
# make dev's build of keygate-dev, out loud. A first build (an empty Go build
# cache) compiles ~390 packages: Go's standard library, the AWS SDK, the JWT
# libraries and keygate itself, a minute or more of CPU on two cores during
# which `go build` alone prints nothing. This prints one line per group of
# packages as the compiler reaches it (from `go build -v`, which names each
# package it compiles, grouped by the module `go list` says it comes from),
# a count every 100 packages, and how long it took. A warm build prints only
# the last line. Measured with an empty build cache on the 2-core build
# machine, shared with other work: 35 s to 2 minutes (about 60 s of CPU).
#   scripts/build-dev.sh OUTPUT PACKAGE
set -o pipefail
out=${1:?output}
pkg=${2:?package}
go=${GO:-go}
start=$SECONDS

# Each package's module (std for the standard library), to group by. This
# also downloads the modules go.sum pins, if they are not here yet.
mods=$(mktemp)
trap 'rm -f "$mods"' EXIT
"$go" list -deps -f '{{.ImportPath}} {{if .Module}}{{.Module.Path}}{{else}}std{{end}}' "$pkg" >"$mods" || exit
total=$(wc -l <"$mods")

"$go" build -v -o "$out" "$pkg" 2>&1 | awk -v total="$total" '
  # The names a reader knows these by.
  function group(m) {
    if (m == "std") return "the Go standard library"
    if (m ~ /^github\.com\/aws\/(aws-sdk-go-v2|smithy-go)/) return "the AWS SDK for Go v2 (DynamoDB, Cognito, config, smithy)"
    if (m ~ /^github\.com\/keygate\/keygate/) return "keygate (the authorizer, handlers, local mode)"
    if (m ~ /golang-jwt|MicahParks/) return "the JWT libraries (golang-jwt, keyfunc)"
    return m
  }
  FNR == NR { mod[$1] = $2; next }
  !($1 in mod) { print; next }          # not a package name: an error, pass it on
  {
    n++
    if (n % 100 == 0) { print "     ... " n " of " total " packages"; fflush() }
    g = group(mod[$1])
    if (!(g in seen)) {
      seen[g] = 1
      if (n == 1) print "   compiling (the build cache keeps what is compiled for next time):"
      print "     " g
      fflush()
    }
  }
  END { if (n > 0) print "   compiled " n " of the " total " packages" }
' "$mods" - || exit
echo "== keygate-dev built in $((SECONDS - start)) s"
