package main

import (
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// Memory bound: after warm-up the stack must not grow, except by what its
// bounded caches hold. Compared are the medians of the stack's samples in the
// window right after warm-up and in the last tenth of the load. Growth
// allowed: live Go heap 25 % + 8 MiB + 2 KiB per entry the authorizer's key
// caches gained (10 000 entries each at most; an entry measured about
// 1.6 KiB), RSS 25 % + 32 MiB + twice that (RSS also holds freed pages the Go
// runtime has not returned yet). A leak of a few hundred bytes a request is
// tens of MiB over a run, well past it.
const (
	heapSlack     = 0.25
	heapSlackAbs  = 8 << 20
	rssSlack      = 0.25
	rssSlackAbs   = 32 << 20
	cacheEntryMax = 2 << 10
)

type report struct {
	text string
	ok   bool
}

// second is one second of the run.
type second struct {
	n, ok, r429, r503, fail int
	lat                     []float64 // milliseconds
}

func perSecond(res *result, dur time.Duration) []second {
	secs := make([]second, int(dur/time.Second)+2)
	for _, s := range res.samples {
		i := int(time.Duration(s.end) / time.Second)
		if i >= len(secs) {
			i = len(secs) - 1
		}
		b := &secs[i]
		b.n++
		b.lat = append(b.lat, float64(s.end-s.start)/1e6)
		switch {
		case s.status >= 200 && s.status < 300:
			b.ok++
		case s.status == 429:
			b.r429++
		case s.status == 503:
			b.r503++
		case s.status == 0 || s.status >= 500 || !slices.Contains(expected[s.op], int(s.status)):
			b.fail++
		}
	}
	for i := range secs {
		sort.Float64s(secs[i].lat)
	}
	return secs
}

// pct is the p-th percentile of sorted values (nearest rank).
func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// memWindows returns the stack's median memory right after warm-up and at the
// end of the load, and the warm-up it used.
func memWindows(cfg config, res *result) (start, end memSample, warm time.Duration) {
	warm = min(max(cfg.Duration/10, 10*time.Second), cfg.Duration*3/10)
	win := max(cfg.Duration/10, 3*time.Second)
	pick := func(from, to time.Duration) memSample {
		var in []memSample
		for _, m := range res.mem {
			at := time.UnixMilli(m.At).Sub(res.t0)
			if at >= from && at < to {
				in = append(in, m)
			}
		}
		if len(in) == 0 {
			return memSample{}
		}
		med := func(get func(memSample) uint64) uint64 {
			v := make([]uint64, len(in))
			for i, m := range in {
				v[i] = get(m)
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		return memSample{
			Live: med(func(m memSample) uint64 { return m.Live }), RSS: med(func(m memSample) uint64 { return m.RSS }),
			GoTotal: med(func(m memSample) uint64 { return m.GoTotal }), Goroutines: med(func(m memSample) uint64 { return m.Goroutines }),
			KeyCache: med(func(m memSample) uint64 { return m.KeyCache }), MissCache: med(func(m memSample) uint64 { return m.MissCache }),
		}
	}
	return pick(warm, warm+win), pick(cfg.Duration-win, cfg.Duration), warm
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func buildReport(cfg config, res *result, checks []check) report {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	all := make([]float64, 0, len(res.samples))
	perOp := make([][]float64, numOps)
	statuses := map[int]int{}
	opStatus := make([]map[int]int, numOps)
	for _, s := range res.samples {
		ms := float64(s.end-s.start) / 1e6
		all = append(all, ms)
		perOp[s.op] = append(perOp[s.op], ms)
		statuses[int(s.status)]++
		if opStatus[s.op] == nil {
			opStatus[s.op] = map[int]int{}
		}
		opStatus[s.op][int(s.status)]++
	}
	sort.Float64s(all)

	start, end, warm := memWindows(cfg, res)
	var cacheGrowth uint64
	if c0, c1 := start.KeyCache+start.MissCache, end.KeyCache+end.MissCache; c1 > c0 {
		cacheGrowth = c1 - c0
	}
	allow := float64(cacheGrowth * cacheEntryMax)
	heapBound := float64(start.Live)*(1+heapSlack) + heapSlackAbs + allow
	rssBound := float64(start.RSS)*(1+rssSlack) + rssSlackAbs + 2*allow
	var mem findings
	switch {
	case start.Live == 0 || end.Live == 0:
		mem.add("too few memory samples (%d)", len(res.mem))
	default:
		if float64(end.Live) > heapBound {
			mem.add("live heap %s → %s, over %s", mib(start.Live), mib(end.Live), mib(uint64(heapBound)))
		}
		if float64(end.RSS) > rssBound {
			mem.add("RSS %s → %s, over %s", mib(start.RSS), mib(end.RSS), mib(uint64(rssBound)))
		}
	}
	checks = append(checks, check{name: "stack memory flat after warm-up", ok: mem.n == 0,
		detail: fmt.Sprintf("live heap %s → %s (bound %s), RSS %s → %s (bound %s); key caches +%d entries",
			mib(start.Live), mib(end.Live), mib(uint64(heapBound)), mib(start.RSS), mib(end.RSS), mib(uint64(rssBound)), cacheGrowth)})
	if mem.n > 0 {
		checks[len(checks)-1].detail += ": " + mem.String()
	}
	checks = append(checks, emfCheck(res))

	ok := true
	for _, c := range checks {
		ok = ok && c.ok
	}
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
	}
	p("keygate soak: %s", verdict)
	p("run: %s, %d in flight, on %d cores (%s/%s); store stopped at %s for %s, back at %s",
		cfg.Duration, cfg.Concurrency, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		res.stopAt.Round(time.Millisecond), cfg.Outage, res.readyAt.Round(time.Millisecond))
	p("workload: 45%% metered keys under their limit (%d/day), 10%% past it, 10%% steady keys, 15%% JWT listing, 10%% usage history, 10%% churn (create, use, rename, rotate, revoke, use after revoke)", cfg.KeyLimit)
	p("%s", res.rotate)
	p("store: dynalite with its data on disk, fixed port, stopped and restarted once; stack store deadline %d ms", storeTimeoutMS)
	p("")
	p("requests  %d (%.0f/s), keys created %d", len(res.samples), float64(len(res.samples))/cfg.Duration.Seconds(), res.keys)
	p("latency   p50 %.1f ms, p99 %.1f ms, max %.1f ms", pct(all, 50), pct(all, 99), pct(all, 100))
	var calm []float64
	w0, w1 := res.outage()
	for _, s := range res.samples {
		if !res.inOutage(s) {
			calm = append(calm, float64(s.end-s.start)/1e6)
		}
	}
	sort.Float64s(calm)
	p("outside the outage window (%s): %d requests, %.0f/s, p50 %.1f ms, p99 %.1f ms", (w1 - w0).Round(time.Second), len(calm),
		float64(len(calm))/(cfg.Duration-(w1-w0)).Seconds(), pct(calm, 50), pct(calm, 99))
	p("statuses  %s", fmtStatuses(statuses))
	p("")
	p("%-22s %8s %9s %9s  %s", "operation", "requests", "p50 ms", "p99 ms", "statuses")
	for op := range numOps {
		l := perOp[op]
		sort.Float64s(l)
		if len(l) == 0 {
			continue
		}
		p("%-22s %8d %9.1f %9.1f  %s", opNames[op], len(l), pct(l, 50), pct(l, 99), fmtStatuses(opStatus[op]))
	}
	p("")
	p("stack process (gateway, authorizer, functions, dev issuer), after a %s warm-up:", warm)
	p("  live Go heap %s → %s, RSS %s → %s, Go runtime total %s → %s, goroutines %d → %d",
		mib(start.Live), mib(end.Live), mib(start.RSS), mib(end.RSS), mib(start.GoTotal), mib(end.GoTotal), start.Goroutines, end.Goroutines)
	p("  authorizer caches (bounded, 10 000 entries each): positive key cache %d → %d, miss cache %d → %d entries",
		start.KeyCache, end.KeyCache, start.MissCache, end.MissCache)
	p("  memory bound: live heap +25 %% + 8 MiB, RSS +25 %% + 32 MiB, plus 2 KiB (RSS 4 KiB) per entry the caches gained")
	p("  log lines at WARN or above: %d (the outage's 503s are logged as errors)", res.errorLines)
	p("")
	p("checks:")
	for _, c := range checks {
		mark := "ok  "
		if !c.ok {
			mark = "FAIL"
		}
		p("  %s %s: %s", mark, c.name, c.detail)
	}
	return report{text: b.String(), ok: ok}
}

// emfCheck: every EMF line the stack wrote parses, and every answer is
// accounted for once: a function's Requests, or the authorizer's Denials or
// Unavailable.
func emfCheck(res *result) check {
	e := res.emf
	c := check{name: "EMF metrics parse and account for every answer"}
	if e.invalid > 0 {
		c.detail = fmt.Sprintf("%d of %d lines are not valid EMF: %s", e.invalid, e.lines, e.firstInvalid)
		return c
	}
	req, den, unavAuth := e.totals["Requests"], e.totals["Denials"], e.totals["Unavailable Component=authorizer"]
	if req == 0 {
		c.ok = true
		c.detail = fmt.Sprintf("%d lines, all valid; no Requests metric (adapter hook not wired): not compared", e.lines)
		return c
	}
	sum := int64(req + den + unavAuth)
	c.ok = sum == res.answered
	var lat []string
	for _, op := range []string{"GetItem", "UpdateItem", "PutItem", "Query", "BatchGetItem"} {
		v := append([]float64(nil), e.latencies[op]...)
		sort.Float64s(v)
		if len(v) > 0 {
			lat = append(lat, fmt.Sprintf("%s %d (p50 %.1f, p99 %.1f ms)", op, len(v), pct(v, 50), pct(v, 99)))
		}
	}
	c.detail = fmt.Sprintf("%d lines, all valid; Requests %.0f + Denials %.0f + authorizer Unavailable %.0f = %d, answers %d (setup and checks included); RateLimited %.0f, function Unavailable %.0f; StoreLatency: %s",
		e.lines, req, den, unavAuth, sum, res.answered, e.totals["RateLimited"], e.totals["Unavailable Component=function"], strings.Join(lat, ", "))
	return c
}

func fmtStatuses(m map[int]int) string {
	var codes []int
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", name, m[c]))
	}
	return strings.Join(parts, ", ")
}
