# Fuzzing. `make test` already runs every fuzz target's seed corpus
# (testdata/fuzz/<target>/ and the f.Add seeds) as ordinary tests; `make fuzz`
# fuzzes each target for FUZZTIME, one after another, and prints how many
# executions each did. Included by the root Makefile; works alone too:
#   make -f mk/fuzz.mk fuzz FUZZTIME=10s
# FUZZ=<regexp> picks targets by name; FUZZFLAGS go to `go test` (e.g. -parallel=1).
# FUZZMINIMIZE bounds the minimizing of each new interesting input (Go's
# default, 60s, can stall a 60s run for most of its time on one input).

FUZZTIME     ?= 60s
FUZZ         ?= .
FUZZMINIMIZE ?= 10s
FUZZFLAGS    ?=

.PHONY: fuzz

fuzz:
	FUZZTIME=$(FUZZTIME) FUZZ='$(FUZZ)' FUZZMINIMIZE=$(FUZZMINIMIZE) FUZZFLAGS='$(FUZZFLAGS)' ./scripts/fuzz.sh
