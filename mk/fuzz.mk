# Fuzzing. `make test` already runs every fuzz target's seed corpus
# (testdata/fuzz/<target>/ and the f.Add seeds) as ordinary tests; `make fuzz`
# fuzzes each target for FUZZTIME, one after another, and prints how many
# executions each did. Included by the root Makefile; works alone too:
#   make -f mk/fuzz.mk fuzz FUZZTIME=10s
# FUZZ=<regexp> picks targets by name; FUZZFLAGS go to `go test` (e.g. -parallel=1).

FUZZTIME  ?= 60s
FUZZ      ?= .
FUZZFLAGS ?=

.PHONY: fuzz

fuzz:
	FUZZTIME=$(FUZZTIME) FUZZ='$(FUZZ)' FUZZFLAGS='$(FUZZFLAGS)' ./scripts/fuzz.sh
