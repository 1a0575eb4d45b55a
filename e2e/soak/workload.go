package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The mixed workload. Each worker loops until the deadline, picking one of:
//
//	45 %  a request with a metered key still under its daily limit
//	10 %  a request with a metered key already past its limit (429 expected)
//	10 %  a request with a steady key (far from its limit)
//	15 %  JWT listing, GET /v1/api-keys
//	10 %  JWT usage with history, GET /v1/usage?days=7
//	10 %  churn: create a key, use it, maybe rename it, maybe rotate it
//	      (grace 0), maybe revoke it
//
// A metered key that answers 429 moves to the past-limit pool and a new one
// is created, so requests at and just past the limit go on all run long.

type opKind uint8

const (
	opKeyLive opKind = iota
	opKeyPast
	opKeySteady
	opList
	opHistory
	opCreate
	opUse
	opPatch
	opRotate
	opRevoke
	opRevokedUse
	numOps
)

var opNames = [numOps]string{"key, under its limit", "key, past its limit", "key, steady", "list keys (JWT)",
	"usage history (JWT)", "create key", "churn key use", "rename key", "rotate key", "revoke key",
	"revoked key use"}

// expected are the statuses each operation may answer outside the outage.
var expected = [numOps][]int{
	opKeyLive:   {200, 429},
	opKeyPast:   {429},
	opKeySteady: {200},
	opList:      {200},
	opHistory:   {200},
	opCreate:    {201},
	opUse:       {200},
	opPatch:     {200},
	opRotate:    {201},
	opRevoke:    {200},
	// Revocation holds from the very next request.
	opRevokedUse: {401},
}

// sample is one request of the run: times are nanoseconds since the start.
type sample struct {
	op         opKind
	status     int16 // 0: no HTTP answer
	start, end int64
}

type user struct {
	sub, tier, token string
	mu               sync.Mutex
	keys             []*apiKey
}

type keyState uint8

const (
	stateActive keyState = iota
	stateRevoked
	stateRotatedOut
	stateUncertain // a change answered 503: it may or may not have happened
)

type apiKey struct {
	key, prefix string
	owner       *user
	limit       int
	metered     bool // driven to its limit: checked for over-admission

	mu    sync.Mutex
	state keyState
	days  map[string]*dayCount
}

// dayCount is what the client saw of one key on one UTC day.
type dayCount struct {
	ok       int   // 2xx answers
	saw429   bool  // a 429 came back
	first429 int64 // when the first 429 arrived
	lateOK   int   // 2xx to requests sent after a 429 had arrived
	other    int   // answers that say nothing about the count (503, none)
}

type load struct {
	cfg          config
	base, issuer string
	hc           *http.Client
	t0           time.Time

	listUsers, meterUsers, churnUsers []*user
	listers                           []*user // listUsers then meterUsers: who lists keys
	steady                            []*apiKey
	rotate                            bool // the rotate route exists
	rotateNote                        string

	mu       sync.Mutex
	live     []*apiKey
	past     []*apiKey
	creating int
	all      []*apiKey

	answered atomic.Int64 // every HTTP answer, setup and checks included
}

const liveTarget = 8 // metered keys under their limit at once

func newLoad(cfg config, base, issuer string) *load {
	return &load{cfg: cfg, base: base, issuer: issuer, hc: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 4 * cfg.Concurrency, MaxIdleConnsPerHost: 4 * cfg.Concurrency,
			IdleConnTimeout: time.Minute},
	}}
}

type worker struct {
	rng     *rand.Rand
	samples []sample
}

// saw503 reports whether the worker's last request since mark answered 503.
func (w *worker) saw503(mark int) bool {
	for _, s := range w.samples[mark:] {
		if s.status == 503 {
			return true
		}
	}
	return false
}

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	data   map[string]any
}

// do sends one request and records it when w is not nil.
func (l *load) do(w *worker, op opKind, method, path, auth string, body any) answer {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, l.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Since(l.t0)
	resp, err := l.hc.Do(req)
	var a answer
	if err == nil {
		a.status, a.header = resp.StatusCode, resp.Header
		var env struct {
			Data map[string]any `json:"data"`
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = json.Unmarshal(raw, &env)
		a.data = env.Data
		l.answered.Add(1)
	}
	if w != nil {
		w.samples = append(w.samples, sample{op: op, status: int16(a.status), start: int64(start), end: int64(time.Since(l.t0))})
	}
	return a
}

// day is the UTC day a metered answer was counted on: the day before the
// reset its headers announce.
func day(a answer) string {
	if r, err := strconv.ParseInt(a.header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		return time.Unix(r-1, 0).UTC().Format(time.DateOnly)
	}
	return time.Now().UTC().Format(time.DateOnly)
}

func (k *apiKey) count(a answer, sent, recv int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.days == nil {
		k.days = map[string]*dayCount{}
	}
	d := time.Now().UTC().Format(time.DateOnly)
	if a.status == 200 || a.status == 429 {
		d = day(a)
	}
	c := k.days[d]
	if c == nil {
		c = &dayCount{}
		k.days[d] = c
	}
	switch a.status {
	case 200, 429:
	default:
		// Counted or not: a 503 may come after the meter's write.
		c.other++
		return
	}
	if a.status == 200 {
		c.ok++
		if c.saw429 && sent > c.first429 {
			c.lateOK++
		}
		return
	}
	if !c.saw429 || recv < c.first429 {
		c.saw429, c.first429 = true, recv
	}
}

func (k *apiKey) setState(s keyState) {
	k.mu.Lock()
	k.state = s
	k.mu.Unlock()
}

// useKey sends a metered request with k and counts what came back.
func (l *load) useKey(w *worker, op opKind, k *apiKey) answer {
	sent := int64(time.Since(l.t0))
	a := l.do(w, op, "GET", "/v1/usage", k.key, nil)
	k.count(a, sent, int64(time.Since(l.t0)))
	return a
}

func (l *load) token(sub, tier string) (string, error) {
	ttl := int((l.cfg.Duration + time.Hour).Seconds())
	resp, err := l.hc.Get(fmt.Sprintf("%s/token?sub=%s&tier=%s&ttl=%d", l.issuer, url.QueryEscape(sub), tier, ttl))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("dev issuer: %d %s", resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b)), nil
}

// create makes a key for u and tracks it.
func (l *load) create(w *worker, u *user, name string, limit int, metered bool) (*apiKey, answer) {
	a := l.do(w, opCreate, "POST", "/v1/api-keys", u.token, map[string]any{"name": name, "dailyLimit": limit})
	if a.status != 201 {
		return nil, a
	}
	k := l.track(u, a, limit, metered)
	return k, a
}

func (l *load) track(u *user, a answer, limit int, metered bool) *apiKey {
	key, _ := a.data["key"].(string)
	prefix, _ := a.data["prefix"].(string)
	k := &apiKey{key: key, prefix: prefix, owner: u, limit: limit, metered: metered}
	u.mu.Lock()
	u.keys = append(u.keys, k)
	u.mu.Unlock()
	l.mu.Lock()
	l.all = append(l.all, k)
	l.mu.Unlock()
	return k
}

func (l *load) setup() error {
	l.t0 = time.Now()
	mk := func(prefix, tier string, n int) ([]*user, error) {
		var us []*user
		for i := range n {
			u := &user{sub: fmt.Sprintf("%s-%d", prefix, i+1), tier: tier}
			var err error
			if u.token, err = l.token(u.sub, tier); err != nil {
				return nil, err
			}
			us = append(us, u)
		}
		return us, nil
	}
	var err error
	if l.listUsers, err = mk("soak-list", "pro", 4); err != nil {
		return err
	}
	if l.meterUsers, err = mk("soak-meter", "team", 4); err != nil {
		return err
	}
	if l.churnUsers, err = mk("soak-churn", "pro", 4); err != nil {
		return err
	}
	l.listers = slices.Concat(l.listUsers, l.meterUsers)
	for _, u := range l.listUsers {
		for i := range 5 {
			k, a := l.create(nil, u, fmt.Sprintf("steady %d", i+1), 10000, true)
			if k == nil {
				return fmt.Errorf("create a steady key: %d %v", a.status, a.data)
			}
			l.steady = append(l.steady, k)
		}
	}
	for i := range liveTarget {
		k, a := l.create(nil, l.meterUsers[i%len(l.meterUsers)], "metered", l.cfg.KeyLimit, true)
		if k == nil {
			return fmt.Errorf("create a metered key: %d %v", a.status, a.data)
		}
		l.live = append(l.live, k)
	}
	// Rotation is in the contract; until its route is served the churn
	// skips it, and the report says so.
	u := l.churnUsers[0]
	k, a := l.create(nil, u, "rotation probe", 5, false)
	if k == nil {
		return fmt.Errorf("create a key: %d %v", a.status, a.data)
	}
	a = l.do(nil, opRotate, "POST", "/v1/api-keys/"+k.prefix+"/rotate", u.token, map[string]any{"gracePeriodSeconds": 0})
	switch a.status {
	case 201:
		l.rotate = true
		k.setState(stateRotatedOut)
		l.track(u, a, k.limit, false)
		l.rotateNote = "rotation: POST /v1/api-keys/{prefix}/rotate served; churn rotates with grace 0"
	case 404:
		l.answered.Add(-1) // the gateway's own 404 for a route it lacks: keygate never saw it
		l.rotateNote = "rotation: POST /v1/api-keys/{prefix}/rotate answered 404 (route not served yet); churn skips rotation"
	default:
		return fmt.Errorf("rotate probe: %d %v", a.status, a.data)
	}
	return nil
}

// result is everything the run measured.
type result struct {
	samples         []sample
	t0              time.Time
	stopAt, readyAt time.Duration // the store's outage, since t0
	restartErr      error
	mem             []memSample
	emf             emfSummary
	errorLines      int
	answered        int64
	keys            int
	rotate          string
}

func (l *load) run(st *store) *result {
	l.t0 = time.Now()
	res := &result{t0: l.t0, rotate: l.rotateNote}
	deadline := l.t0.Add(l.cfg.Duration)
	outageDone := make(chan struct{})
	go func() {
		defer close(outageDone)
		time.Sleep(time.Duration(float64(l.cfg.Duration) * 0.45))
		res.stopAt = time.Since(l.t0)
		logf("stopping the store at %s", res.stopAt.Round(time.Millisecond))
		st.stop()
		time.Sleep(l.cfg.Outage)
		res.restartErr = st.start()
		res.readyAt = time.Since(l.t0)
		logf("store back at %s (err %v)", res.readyAt.Round(time.Millisecond), res.restartErr)
	}()
	workers := make([]*worker, l.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{rng: rand.New(rand.NewPCG(uint64(i), 0x50a4))}
		workers[i] = w
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if l.step(w) {
					// A client backs off a little after a 503, as a real one
					// would, rather than spinning on the outage.
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	progress := time.NewTicker(15 * time.Second)
	defer progress.Stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-progress.C:
			logf("%s of %s", time.Since(l.t0).Round(time.Second), l.cfg.Duration)
		}
	}
	<-outageDone
	for _, w := range workers {
		res.samples = append(res.samples, w.samples...)
	}
	l.mu.Lock()
	res.keys = len(l.all)
	l.mu.Unlock()
	return res
}

// step does one pick of the mix and reports whether anything answered 503.
func (l *load) step(w *worker) bool {
	mark := len(w.samples)
	switch r := w.rng.IntN(100); {
	case r < 45:
		l.keyLive(w)
	case r < 55:
		l.keyPast(w)
	case r < 65:
		l.useKey(w, opKeySteady, l.steady[w.rng.IntN(len(l.steady))])
	case r < 80:
		l.do(w, opList, "GET", "/v1/api-keys", l.listers[w.rng.IntN(len(l.listers))].token, nil)
	case r < 90:
		l.do(w, opHistory, "GET", "/v1/usage?days=7", l.listUsers[w.rng.IntN(len(l.listUsers))].token, nil)
	default:
		l.churn(w)
	}
	return w.saw503(mark)
}

// pick is a random key of *pool (l.live or l.past), nil when it is empty.
func (l *load) pick(w *worker, pool *[]*apiKey) *apiKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(*pool) == 0 {
		return nil
	}
	return (*pool)[w.rng.IntN(len(*pool))]
}

func (l *load) keyLive(w *worker) {
	k := l.pick(w, &l.live)
	if k == nil {
		l.replenish(w)
		return
	}
	if a := l.useKey(w, opKeyLive, k); a.status == 429 {
		l.mu.Lock()
		if i := slices.Index(l.live, k); i >= 0 {
			l.live = slices.Delete(l.live, i, i+1)
			l.past = append(l.past, k)
			if len(l.past) > 32 {
				l.past = l.past[len(l.past)-32:]
			}
		}
		l.mu.Unlock()
		l.replenish(w)
	}
}

// replenish creates a metered key when the pool is short and no other
// worker is creating one.
func (l *load) replenish(w *worker) {
	l.mu.Lock()
	if len(l.live)+l.creating >= liveTarget || l.creating >= 2 {
		l.mu.Unlock()
		return
	}
	l.creating++
	l.mu.Unlock()
	k, _ := l.create(w, l.meterUsers[w.rng.IntN(len(l.meterUsers))], "metered", l.cfg.KeyLimit, true)
	l.mu.Lock()
	l.creating--
	if k != nil {
		l.live = append(l.live, k)
	}
	l.mu.Unlock()
}

func (l *load) keyPast(w *worker) {
	k := l.pick(w, &l.past)
	if k == nil {
		l.keyLive(w)
		return
	}
	l.useKey(w, opKeyPast, k)
}

// churn walks one key through its life; a step that fails ends the walk.
func (l *load) churn(w *worker) {
	u := l.churnUsers[w.rng.IntN(len(l.churnUsers))]
	k, _ := l.create(w, u, "churn", 5, false)
	if k == nil {
		return
	}
	if a := l.useKey(w, opUse, k); a.status != 200 {
		return
	}
	if w.rng.IntN(2) == 0 {
		if !l.change(w, opPatch, "PATCH", "/v1/api-keys/"+k.prefix, u, map[string]any{"name": "churn renamed"}, k, stateActive) {
			return
		}
	}
	if l.rotate && w.rng.IntN(2) == 0 {
		a := l.do(w, opRotate, "POST", "/v1/api-keys/"+k.prefix+"/rotate", u.token, map[string]any{"gracePeriodSeconds": 0})
		switch a.status {
		case 201:
			k.setState(stateRotatedOut)
			k = l.track(u, a, k.limit, false)
			if a := l.useKey(w, opUse, k); a.status != 200 {
				return
			}
		case 503:
			k.setState(stateUncertain)
			return
		default:
			return
		}
	}
	if w.rng.IntN(2) == 0 && l.change(w, opRevoke, "DELETE", "/v1/api-keys/"+k.prefix, u, nil, k, stateRevoked) {
		l.do(w, opRevokedUse, "GET", "/v1/usage", k.key, nil)
	}
}

// change sends a state-changing request and records the key's new state.
func (l *load) change(w *worker, op opKind, method, path string, u *user, body any, k *apiKey, to keyState) bool {
	a := l.do(w, op, method, path, u.token, body)
	switch {
	case a.status >= 200 && a.status < 300:
		k.setState(to)
		return true
	case a.status == 503 || a.status == 0:
		k.setState(stateUncertain)
	}
	return false
}
