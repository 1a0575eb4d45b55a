package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/keygate/keygate/shared/metrics"
)

// outageGrace is how long after the store is back a 503 is still allowed:
// the SDK's retries and the store deadline (2 s) of calls already under way.
const outageGrace = 5 * time.Second

// outage is the window in which a 503 is expected: from the store's stop
// until outageGrace after it is back.
func (r *result) outage() (from, to time.Duration) { return r.stopAt, r.readyAt + outageGrace }

// inOutage reports whether s overlaps the outage window.
func (r *result) inOutage(s sample) bool {
	from, to := r.outage()
	return time.Duration(s.end) >= from && time.Duration(s.start) <= to
}

// check is the verdict on one property.
type check struct {
	name   string
	ok     bool
	detail string
}

// findings are the failures of one kind, with a few examples.
type findings struct {
	n        int
	examples []string
}

func (f *findings) add(format string, args ...any) {
	f.n++
	if len(f.examples) < 5 {
		f.examples = append(f.examples, fmt.Sprintf(format, args...))
	}
}

func (f *findings) String() string {
	if f.n == 0 {
		return "none"
	}
	return fmt.Sprintf("%d, e.g. %s", f.n, strings.Join(f.examples, "; "))
}

func (l *load) check(res *result) []check {
	var checks []check
	add := func(name string, f *findings, ok string) {
		c := check{name: name, ok: f.n == 0, detail: ok}
		if f.n > 0 {
			c.detail = f.String()
		}
		checks = append(checks, c)
	}

	win0, win1 := res.outage()
	var fiveHundreds, outside, noAnswer, unexpected findings
	in503 := 0
	for _, s := range res.samples {
		at := time.Duration(s.start).Round(time.Millisecond)
		switch {
		case s.status == 0:
			noAnswer.add("%s at %s", opNames[s.op], at)
		case s.status == 503:
			if res.inOutage(s) {
				in503++
			} else {
				outside.add("%s at %s", opNames[s.op], at)
			}
		case s.status >= 500:
			fiveHundreds.add("%d on %s at %s", s.status, opNames[s.op], at)
		case !slices.Contains(expected[s.op], int(s.status)):
			unexpected.add("%d on %s at %s", s.status, opNames[s.op], at)
		}
	}
	if res.restartErr != nil {
		checks = append(checks, check{"store restarted", false, res.restartErr.Error()})
	}
	add("no 500s (any 5xx but 503)", &fiveHundreds, "none")
	add("503s only in the outage window", &outside, fmt.Sprintf("%d 503s, all between %s and %s (store stopped, then back + %s)",
		in503, win0.Round(time.Millisecond), win1.Round(time.Millisecond), outageGrace))
	add("every request answered", &noAnswer, "yes")
	add("only the expected statuses", &unexpected, "yes")

	over, counted := l.checkCounters()
	add("no over-admission", &over, counted)
	listed, n := l.checkListed()
	add("every key created is listed afterwards", &listed, fmt.Sprintf("%d keys, each listed with ?status=all in the state the run left it", n))
	return checks
}

// checkCounters compares each metered key's stored counter, read back
// through GET /v1/usage?days=2, with what the client saw per UTC day:
// 2xx answers never exceed the limit, the counter never exceeds the limit,
// holds every 2xx and nothing beyond the answers that may have been counted
// (503s), equals the limit once a 429 came, and no 2xx follows a 429.
func (l *load) checkCounters() (findings, string) {
	var f findings
	keys, days, at429 := 0, 0, 0
	for _, u := range l.listers {
		a := l.do(nil, 0, "GET", "/v1/usage?days=2", u.token, nil)
		if a.status != 200 {
			f.add("usage of %s: %d", u.sub, a.status)
			continue
		}
		stored := map[string]map[string]int{} // prefix → day → used
		limits := map[string]int{}
		today, _ := a.data["date"].(string)
		list, _ := a.data["keys"].([]any)
		for _, x := range list {
			m, _ := x.(map[string]any)
			p, _ := m["prefix"].(string)
			stored[p] = map[string]int{}
			if v, ok := m["used"].(float64); ok {
				stored[p][today] = int(v)
			}
			if v, ok := m["dailyLimit"].(float64); ok {
				limits[p] = int(v)
			}
			h, _ := m["history"].([]any)
			for _, e := range h {
				em, _ := e.(map[string]any)
				d, _ := em["date"].(string)
				if v, ok := em["used"].(float64); ok && d != today {
					stored[p][d] = int(v)
				}
			}
		}
		u.mu.Lock()
		ks := append([]*apiKey(nil), u.keys...)
		u.mu.Unlock()
		for _, k := range ks {
			if !k.metered {
				continue
			}
			keys++
			days0, ok := stored[k.prefix]
			if !ok {
				f.add("%s (%s) missing from the usage report", k.prefix, u.sub)
				continue
			}
			if limits[k.prefix] != k.limit {
				f.add("%s: dailyLimit %d, created with %d", k.prefix, limits[k.prefix], k.limit)
			}
			k.mu.Lock()
			for d, c := range k.days {
				days++
				used := days0[d]
				switch {
				case c.ok > k.limit:
					f.add("%s on %s: %d requests admitted, limit %d", k.prefix, d, c.ok, k.limit)
				case used > k.limit:
					f.add("%s on %s: counter %d over the limit %d", k.prefix, d, used, k.limit)
				case used < c.ok:
					f.add("%s on %s: counter %d, but %d requests were admitted", k.prefix, d, used, c.ok)
				case used > c.ok+c.other:
					f.add("%s on %s: counter %d, but only %d admitted and %d unanswered or 503", k.prefix, d, used, c.ok, c.other)
				case c.saw429 && used != k.limit:
					f.add("%s on %s: 429 while the counter stands at %d of %d", k.prefix, d, used, k.limit)
				case c.lateOK > 0:
					f.add("%s on %s: %d requests admitted after a 429", k.prefix, d, c.lateOK)
				}
				if c.saw429 {
					at429++
				}
			}
			k.mu.Unlock()
		}
	}
	return f, fmt.Sprintf("%d keys checked on %d key-days, %d of them driven past their limit; 2xx ≤ counter ≤ 2xx + 503s, counter ≤ limit, counter = limit after a 429", keys, days, at429)
}

// checkListed lists every user's keys with ?status=all and finds each key
// the run created, in the state it left it.
func (l *load) checkListed() (findings, int) {
	var f findings
	n := 0
	for _, u := range slices.Concat(l.listers, l.churnUsers) {
		a := l.do(nil, 0, "GET", "/v1/api-keys?status=all", u.token, nil)
		if a.status != 200 {
			f.add("list of %s: %d", u.sub, a.status)
			continue
		}
		status := map[string]string{}
		list, _ := a.data["keys"].([]any)
		for _, x := range list {
			m, _ := x.(map[string]any)
			p, _ := m["prefix"].(string)
			s, _ := m["status"].(string)
			status[p] = s
		}
		u.mu.Lock()
		for _, k := range u.keys {
			n++
			s, ok := status[k.prefix]
			k.mu.Lock()
			st := k.state
			k.mu.Unlock()
			switch {
			case !ok:
				f.add("%s of %s not listed", k.prefix, u.sub)
			case st == stateActive && s != "active":
				f.add("%s listed %q, want active", k.prefix, s)
			case st == stateRevoked && s != "revoked":
				f.add("%s listed %q, want revoked", k.prefix, s)
			case st == stateRotatedOut && s == "active":
				f.add("%s rotated with grace 0 but still listed active", k.prefix)
			}
		}
		u.mu.Unlock()
	}
	return f, n
}

// emfSummary is what the stack's EMF lines said.
type emfSummary struct {
	lines, invalid int
	firstInvalid   string
	totals         map[string]float64 // "Requests Outcome=OK" etc.
	latencies      map[string][]float64
}

func checkEMF(path string, res *result) emfSummary {
	s := emfSummary{totals: map[string]float64{}, latencies: map[string][]float64{}}
	f, err := os.Open(path)
	if err != nil {
		s.firstInvalid = err.Error()
		return s
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		s.lines++
		ds, err := metrics.ParseLine(sc.Bytes())
		if err != nil {
			s.invalid++
			if s.firstInvalid == "" {
				s.firstInvalid = err.Error()
			}
			continue
		}
		for _, d := range ds {
			if d.Name == "StoreLatency" {
				op := d.Dims["Operation"]
				s.latencies[op] = append(s.latencies[op], d.Values...)
				continue
			}
			var dims []string
			for k, v := range d.Dims {
				if k != "Route" || d.Name != "Requests" {
					dims = append(dims, k+"="+v)
				}
			}
			sort.Strings(dims)
			id := strings.TrimSpace(d.Name + " " + strings.Join(dims, " "))
			for _, v := range d.Values {
				s.totals[id] += v
				s.totals[d.Name] += v
			}
		}
	}
	return s
}
