package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/keygate/keygate/local/devstack"
	keygatemetrics "github.com/keygate/keygate/shared/metrics"
)

// The stack runs in a child process (this program with -serve), so that the
// memory measured is the stack's alone: gateway, authorizer, every function
// and the dev issuer, as `make dev` hosts them, without the load generator.
// Its settings come from the environment (KEYGATE_* as for make dev; the
// parent names the store). It prints one JSON line when ready, then one
// memory sample a second, and stops when its stdin closes.

// ready is the child's first line.
type ready struct {
	URL    string `json:"url"`
	Issuer string `json:"issuer"`
}

// memSample is one memory reading of the stack process.
type memSample struct {
	At         int64  `json:"at"`   // unix milliseconds
	Live       uint64 `json:"live"` // Go heap live after the last GC
	HeapObj    uint64 `json:"heapObj"`
	GoTotal    uint64 `json:"goTotal"` // all memory the Go runtime mapped
	RSS        uint64 `json:"rss"`
	Goroutines uint64 `json:"goroutines"`
	// Entries in the authorizer's bounded caches (10 000 each): what may
	// legitimately grow while a workload keeps bringing new keys.
	KeyCache  uint64 `json:"keyCache"`
	MissCache uint64 `json:"missCache"`
}

func serve() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logFile, err := os.Create(os.Getenv("SOAK_LOG_FILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak stack: log file:", err)
		return 1
	}
	defer logFile.Close()
	// Warnings and errors only: a request line each would be most of the disk.
	log := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelWarn}))
	emf, err := os.Create(os.Getenv("SOAK_EMF_FILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak stack: EMF file:", err)
		return 1
	}
	defer emf.Close()
	// The metrics the Lambdas would write to CloudWatch, checked afterwards.
	keygatemetrics.SetOutput(emf)

	s, err := devstack.Start(ctx, devstack.Options{Addr: "127.0.0.1:0", IssuerAddr: "127.0.0.1:0", Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak stack:", err)
		return 1
	}
	out := json.NewEncoder(os.Stdout)
	issuer := ""
	if s.Issuer != nil {
		issuer = s.Issuer.URL
	}
	_ = out.Encode(ready{URL: s.URL, Issuer: issuer})

	stdinClosed := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stdinClosed) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			m := sampleMemory()
			if a := s.Authorize; a != nil {
				if a.Good != nil {
					m.KeyCache = uint64(a.Good.Len())
				}
				if a.Misses != nil {
					m.MissCache = uint64(a.Misses.Len())
				}
			}
			_ = out.Encode(m)
		case <-stdinClosed:
			s.Close()
			return 0
		case <-ctx.Done():
			s.Close()
			return 0
		}
	}
}

var memMetrics = []metrics.Sample{
	{Name: "/gc/heap/live:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/total:bytes"},
	{Name: "/sched/goroutines:goroutines"},
}

func sampleMemory() memSample {
	metrics.Read(memMetrics)
	v := func(i int) uint64 {
		if memMetrics[i].Value.Kind() == metrics.KindUint64 {
			return memMetrics[i].Value.Uint64()
		}
		return 0
	}
	return memSample{At: time.Now().UnixMilli(), Live: v(0), HeapObj: v(1), GoTotal: v(2), Goroutines: v(3), RSS: rss()}
}

// rss reads the resident set size from /proc (Linux).
func rss() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
