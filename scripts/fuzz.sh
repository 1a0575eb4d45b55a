#!/usr/bin/env bash
# make fuzz: every `func FuzzXxx` of the root module, one after another, each
# for FUZZTIME (default 60s), then one line per target with its executions.
# A crash stops the run; Go writes the failing input to the package's
# testdata/fuzz/<target>/ (commit it once fixed: it becomes a seed).
#   FUZZTIME=10s make fuzz          FUZZ='Report|Signature' make fuzz   (targets matching a regexp)
# FUZZMINIMIZE (default 10s) bounds minimizing each new input; Go's 60s
# default can take most of a 60s run. FUZZFLAGS go to `go test` (e.g. -parallel=1).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-60s}
minimize=${FUZZMINIMIZE:-10s}
only=${FUZZ:-.}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# package dir and target name of every fuzz target (infra/ and tools/ are other modules)
grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . \
  | grep -vE '^\./(infra|tools|node_modules)/' \
  | sed -E 's#^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' \
  | sort -u | grep -E " .*(${only})" > "$out/targets" || true
if [ ! -s "$out/targets" ]; then
  echo "no fuzz targets match '${only}'" >&2
  exit 1
fi

echo "== $(wc -l < "$out/targets") fuzz targets, ${fuzztime} each"
while read -r dir name; do
  echo "== ./${dir} ${name}"
  log="$out/${dir//\//_}_${name}.log"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "${fuzztime}" -fuzzminimizetime "${minimize}" ${FUZZFLAGS:-} "./${dir}" 2>&1 | tee "$log"; then
    echo "FAIL: ./${dir} ${name} (reproducer under ${dir}/testdata/fuzz/${name}/)" >&2
    exit 1
  fi
  execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo '?')
  printf '%-28s %-26s %12s execs\n' "./${dir}" "${name}" "${execs}" >> "$out/summary"
done < "$out/targets"

echo
echo "== summary (${fuzztime} per target)"
cat "$out/summary"
