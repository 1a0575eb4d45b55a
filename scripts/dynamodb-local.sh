#!/usr/bin/env bash
# make test-dynamodb-local: the store, keys, metering and end-to-end tests
# against Amazon DynamoDB Local, a second implementation of the DynamoDB
# protocol beside dynalite (which `make test` uses), so that a dynalite quirk
# the code or a test relies on shows up in CI.
#
# What it needs, and where it comes from:
#   - Java: Debian's openjdk-17-jre-headless (apt-get, as root, when `java` is
#     missing; otherwise it prints the command and stops);
#   - the DynamoDB Local jar: inside npm amplify-dynamodb-simulator, pinned in
#     tools/dynamodb-local/package-lock.json and installed by the make target
#     with `npm ci --ignore-scripts` (only the jar runs).
# It starts DynamoDB Local in memory on a free port, runs the tests with
# KEYGATE_TEST_DYNAMODB_ENDPOINT pointing at it, and stops it on any exit.
#   DYNAMODB_LOCAL_PKGS   the packages (default: store, keys, metering, e2e)
#   DYNAMODB_LOCAL_FLAGS  extra `go test` flags (e.g. -run TestRotation -v)
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=${DYNAMODB_LOCAL_PKGS:-./shared/dynamo/ ./shared/keys/ ./shared/metering/ ./e2e/}
emulator=tools/dynamodb-local/node_modules/amplify-dynamodb-simulator/emulator
apt_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y openjdk-17-jre-headless"

if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "DynamoDB Local needs Java 17. As root, run:" >&2
    echo "  $apt_cmd" >&2
    exit 1
  fi
  echo "== installing Debian's openjdk-17-jre-headless for DynamoDB Local"
  sh -c "$apt_cmd"
fi
if [ ! -f "$emulator/DynamoDBLocal.jar" ]; then
  echo "no $emulator/DynamoDBLocal.jar: run make test-dynamodb-local (it installs tools/dynamodb-local)" >&2
  exit 1
fi

log=$(mktemp)
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
(cd "$emulator" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
  -inMemory -sharedDb -port "$port" -disableTelemetry) >"$log" 2>&1 &
pid=$!
stop() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
trap stop EXIT

# Up when it accepts a connection; it prints its banner first.
for _ in $(seq 1 300); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "DynamoDB Local exited:" >&2
    cat "$log" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    break
  fi
  sleep 0.1
done
echo "== DynamoDB Local $(sed -n "s/^Version:[[:space:]]*//p" "$log" | head -1) on 127.0.0.1:$port (in memory); go test $pkgs"

# shellcheck disable=SC2086 # word splitting of the package and flag lists is meant
KEYGATE_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:$port go test -count=1 ${DYNAMODB_LOCAL_FLAGS:-} $pkgs
