#!/usr/bin/env bash
# make bench: the speed goals, measured. Prints raw `go test -bench` output
# and a summary with the ratios the goals are stated in.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== authorizer: JWT path (first sight, repeated) vs bare RSA-2048 verify, key path (cache hit, miss); no network"
# Seven rounds, each running the benchmarks back to back, so a noisy
# neighbour slows the verify and the JWT path alike; the ratio is taken per round.
go test -c -o "$out/authorizer.test" ./authorizer/
for round in 1 2 3 4 5 6 7; do
  (cd authorizer && "$out/authorizer.test" -test.run '^$' -test.benchmem \
    -test.bench 'BenchmarkRSA2048Verify|BenchmarkAuthorizeJWT$|BenchmarkAuthorizeJWTRepeated|BenchmarkAuthorizeKey$|BenchmarkAuthorizeKeyMiss') | grep '^Benchmark'
done | tee "$out/auth.txt"

echo
# Interleaved rounds: each round is one process with one dynalite, running
# the store benchmark and then the gateway benchmark right after it, so the
# ratio is taken over a true pair, seconds apart, under the same neighbours
# (with -count 3 the three store runs came first, then the three gateway
# runs, ~9 s apart, and noise decided the ratio).
rounds=${BENCH_ROUNDS:-5}
echo "== throughput at the same concurrency, $rounds rounds of (dynalite alone, then the local gateway); load average $(cut -d' ' -f1-3 /proc/loadavg)"
go test -c -o "$out/e2e.test" ./e2e/
for round in $(seq 1 "$rounds"); do
  (cd e2e && "$out/e2e.test" -test.run '^$' -test.bench 'BenchmarkThroughput/(store-update|gateway-key|gateway-product)' -test.benchtime 3s) | grep '^Benchmark'
done | tee "$out/tput.txt"
(cd e2e && "$out/e2e.test" -test.run '^$' -test.bench 'BenchmarkThroughput/gateway-jwt' -test.benchtime 3s) | grep '^Benchmark' | tee -a "$out/tput.txt"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "== Lambda packaging: bootstrap sizes and start-to-first-answer under the Runtime Interface Emulator"
KEYGATE_RIE_REPORT="$out/rie.txt" go test -count=1 -run . ./e2e/rie/ >/dev/null
cat "$out/rie.txt" 2>/dev/null || echo "(no report)"

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
# vals FILE NAME UNIT: the value before UNIT on each line of benchmark NAME, in order.
vals() { grep "^$2-" "$1" | awk -v unit="$3" '{for (i=1;i<=NF;i++) if ($(i+1)==unit) print $i}'; }
# perround FILE BASE OTHER UNIT: OTHER/BASE per round (the Nth line of each), sorted.
perround() { paste <(vals "$1" "$2" "$4") <(vals "$1" "$3" "$4") | awk '{printf "%.3f\n", $2/$1}' | sort -g; }
ns() { vals "$out/auth.txt" "$1" ns/op | median; }
allocs() { vals "$out/auth.txt" "$1" allocs/op | median; }
rate() { vals "$out/tput.txt" "BenchmarkThroughput/$1" req/s | median; }

rsa=$(ns BenchmarkRSA2048Verify); jwt=$(ns BenchmarkAuthorizeJWT); rep=$(ns BenchmarkAuthorizeJWTRepeated)
key=$(ns BenchmarkAuthorizeKey); miss=$(ns BenchmarkAuthorizeKeyMiss)
# Per-round JWT/RSA ratios: their median, and the lowest and highest.
ratios=$(perround "$out/auth.txt" BenchmarkRSA2048Verify BenchmarkAuthorizeJWT ns/op)
ratio=$(echo "$ratios" | median); rmin=$(echo "$ratios" | head -1); rmax=$(echo "$ratios" | tail -1)
# Per-round gateway/store ratios likewise: each round's store and gateway
# runs are a true pair.
tratios=$(perround "$out/tput.txt" BenchmarkThroughput/store-update-c16 BenchmarkThroughput/gateway-key-c16 req/s)
tratio=$(echo "$tratios" | median); tmin=$(echo "$tratios" | head -1); tmax=$(echo "$tratios" | tail -1)
upd=$(rate store-update-c16); gw=$(rate gateway-key-c16); gwj=$(rate gateway-jwt-c16)
echo
echo "== summary (medians; $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), load average after the throughput rounds $load_after)"
awk -v rsa="$rsa" -v jwt="$jwt" -v rep="$rep" -v key="$key" -v miss="$miss" -v ratio="$ratio" -v rmin="$rmin" -v rmax="$rmax" \
    -v ka="$(allocs BenchmarkAuthorizeKey)" -v ra="$(allocs BenchmarkAuthorizeJWTRepeated)" \
    -v upd="$upd" -v gw="$gw" -v gwj="$gwj" -v tratio="$tratio" -v tmin="$tmin" -v tmax="$tmax" -v pairs="$(echo "$tratios" | wc -l)" 'BEGIN {
  printf "authorizer JWT path, first sight %9.0f ns/op; bare RSA-2048 verify %.0f ns/op\n", jwt, rsa
  printf "  JWT path / bare verify          %9.2fx median of per-round ratios (%.2f-%.2f); goal <= 1.3x\n", ratio, rmin, rmax
  printf "authorizer JWT path, repeated    %9.0f ns/op, %s allocs/op; goal <= 2000 ns/op\n", rep, ra
  printf "authorizer key path, cache hit   %9.0f ns/op, %s allocs/op; goal <= 1000 ns/op\n", key, ka
  printf "authorizer key path, miss        %9.0f ns/op (its one GetItem excluded)\n", miss
  printf "dynalite conditional update      %9.0f req/s  (the meter write alone, 16 in flight)\n", upd
  printf "local gateway, API key           %9.0f req/s  = %.2f of it (median of %d interleaved pairs, %.2f-%.2f); goal >= 0.8\n", gw, tratio, pairs, tmin, tmax
  printf "local gateway, JWT listing       %9.0f req/s\n", gwj
}'

# ---- guard: product Lambdas (issue 16); kept apart from the sections above ----
echo
echo "== guard: a product Lambda's overhead around its handler (a meter that answers at once: no store), vs keygate's adapter alone"
# Rounds of the three back to back, so a noisy neighbour slows all three; the
# guard's share over the adapter is taken per round.
go test -c -o "$out/guard.test" ./guard/
for round in 1 2 3 4 5; do
  (cd guard && "$out/guard.test" -test.run '^$' -test.benchmem \
    -test.bench 'BenchmarkGuardHandlerFunc|BenchmarkGuardHTTP|BenchmarkAdapterAlone') | grep '^Benchmark'
done | tee "$out/guard.txt"
# perdiff FILE BASE OTHER UNIT: OTHER-BASE per round, sorted.
perdiff() { paste <(vals "$1" "$2" "$4") <(vals "$1" "$3" "$4") | awk '{printf "%.0f\n", $2-$1}' | sort -g; }
gv() { vals "$out/guard.txt" "$1" "$2" | median; }
gshare() { perdiff "$out/guard.txt" BenchmarkAdapterAlone "$1" "$2" | median; }
pratios=$(perround "$out/tput.txt" BenchmarkThroughput/store-update-c16 BenchmarkThroughput/gateway-product-c16 req/s)
kratios=$(perround "$out/tput.txt" BenchmarkThroughput/gateway-key-c16 BenchmarkThroughput/gateway-product-c16 req/s)
echo
echo "== guard summary (medians; cpu-ns is the process's CPU time per request, steadier than ns/op on a busy machine)"
awk -v hf="$(gv BenchmarkGuardHandlerFunc ns/op)" -v hfc="$(gv BenchmarkGuardHandlerFunc cpu-ns/op)" -v hfa="$(gv BenchmarkGuardHandlerFunc allocs/op)" \
    -v ht="$(gv BenchmarkGuardHTTP ns/op)" -v htc="$(gv BenchmarkGuardHTTP cpu-ns/op)" -v hta="$(gv BenchmarkGuardHTTP allocs/op)" \
    -v ad="$(gv BenchmarkAdapterAlone ns/op)" -v adc="$(gv BenchmarkAdapterAlone cpu-ns/op)" -v ada="$(gv BenchmarkAdapterAlone allocs/op)" \
    -v hfs="$(gshare BenchmarkGuardHandlerFunc cpu-ns/op)" -v hts="$(gshare BenchmarkGuardHTTP cpu-ns/op)" \
    -v hfw="$(gshare BenchmarkGuardHandlerFunc ns/op)" -v htw="$(gshare BenchmarkGuardHTTP ns/op)" \
    -v prod="$(rate gateway-product-c16)" \
    -v pr="$(echo "$pratios" | median)" -v pmin="$(echo "$pratios" | head -1)" -v pmax="$(echo "$pratios" | tail -1)" \
    -v kr="$(echo "$kratios" | median)" 'BEGIN {
  printf "guard around a HandlerFunc       %9.0f ns/op, %6.0f cpu-ns/op, %s allocs/op (a whole invocation: keygate'"'"'s adapter, its log and metrics lines included)\n", hf, hfc, hfa
  printf "guard around a net/http handler  %9.0f ns/op, %6.0f cpu-ns/op, %s allocs/op\n", ht, htc, hta
  printf "keygate'"'"'s adapter alone          %9.0f ns/op, %6.0f cpu-ns/op, %s allocs/op (the same work for keygate'"'"'s own routes)\n", ad, adc, ada
  printf "  guard'"'"'s share over the adapter  %9.0f cpu-ns HandlerFunc (%.0f ns), %.0f cpu-ns net/http (%.0f ns); per-round medians; goal <= 2000 ns\n", hfs, hfw, hts, htw
  printf "local gateway, product POST      %9.0f req/s  = %.2f of dynalite'"'"'s update (per-round %.2f-%.2f; %.2f of the /v1/usage key route); goal >= 0.8\n", prod, pr, pmin, pmax, kr
}'
