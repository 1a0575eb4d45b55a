// Command soak runs keygate's whole local stack for minutes under a mixed
// load and checks what must hold over time (`make soak`, see mk/soak.mk).
//
// The stack (gateway, authorizer, every function, dev issuer) runs in a child
// process of this program, started with -serve, so its memory is measured
// alone; dynalite runs beside it with its data on disk and a fixed port, and
// is stopped and restarted once, at 45 % of the run. Workers keep
// SOAK_CONCURRENCY requests in flight (workload.go lists the mix). Afterwards
// the program reads the stored counters and key lists back through the API
// and checks: no over-admission, no 5xx but 503s, 503s only in the outage
// window, every created key listed in the state the run left it, the stack's
// memory flat after warm-up, and the stack's EMF metric lines valid and
// accounting for every answer. It writes a text report and a PNG plot
// (gonum.org/v1/plot) of throughput, p50/p99 latency, errors and memory.
//
// It is a Go module of its own so the plotting library stays out of the
// root module and of every Lambda.
package main
