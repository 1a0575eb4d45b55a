# Fuzzing. `make test` already runs every fuzz target's seed corpus
# (testdata/fuzz/<target>/ and the f.Add seeds) as ordinary tests; `make fuzz`
# fuzzes each target for FUZZTIME, one after another, and prints how many
# executions each did. Included by the root Makefile; works alone too:
#   make -f mk/fuzz.mk fuzz FUZZTIME=10s
# FUZZTIME, FUZZ=<regexp> (picks targets by name), FUZZMINIMIZE and FUZZFLAGS
# (go to `go test`, e.g. -parallel=1) reach scripts/fuzz.sh from make's command
# line or the environment, as make passes such variables to every recipe; the
# script holds their defaults and says what each does.

.PHONY: fuzz

fuzz:
	./scripts/fuzz.sh
