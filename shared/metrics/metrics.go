// Package metrics writes keygate's CloudWatch metrics in the Embedded Metric
// Format (EMF): JSON log lines that CloudWatch Logs turns into metrics in the
// "Keygate" namespace, with no CloudWatch API call and no credential in the
// Lambda. Each Lambda invocation records its counters and latencies in memory
// (Start, then the hooks below) and writes them with one Write at its end
// (Recorder.Flush): usually one line, one more for each further value of a
// dimension that the invocation used twice (a request that ran GetItem and
// UpdateItem writes one line per operation, because an EMF document carries
// one value per dimension name).
//
// Dimension values can only come from this package's fixed sets: routes from
// the route table (RouteOf), outcomes from HTTP statuses, and the Reason,
// Component, operation and result enums. Nothing a client sends, and so no
// credential, key, prefix, token, hash or user id, can become a dimension.
//
// The metric names and dimensions are fixed by the design (the alarms and the
// dashboard of infra/ read them):
//
//	Requests     Count         [Route, Outcome]
//	RateLimited  Count         [Route]          (429s)
//	Unavailable  Count         [Component]      (503s: authorizer | function)
//	Denials      Count         [Reason]         (the authorizer's 401s)
//	StoreLatency Milliseconds  [Operation]      (every DynamoDB call, retries included)
//	JWKSFetches  Count         [Result]         (ok | error)
//
// In Lambda (AWS_LAMBDA_FUNCTION_NAME set) the lines go to stdout, where
// CloudWatch Logs extracts them; with the function's log format set to JSON,
// Lambda passes a line that is already a JSON object through unchanged, so the
// EMF document stays the top-level object. Elsewhere nothing is written until
// SetOutput names a writer (tests, the soak run).
package metrics

import (
	"context"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "Keygate"

// Emitter writes EMF lines to one writer.
type Emitter struct {
	mu      sync.Mutex // serializes writes: one Write per flush, never interleaved
	w       io.Writer
	on      atomic.Bool
	now     func() time.Time
	members []byte // extra top-level members, pre-encoded: `,"function":"createkey"`
}

// NewEmitter writes to w (nil: nothing is written).
func NewEmitter(w io.Writer) *Emitter {
	e := &Emitter{now: time.Now}
	if fn := os.Getenv("AWS_LAMBDA_FUNCTION_NAME"); fn != "" && plainValue(fn) {
		// A property, not a dimension: it helps Logs Insights queries and
		// costs no custom metric.
		e.members = []byte(`,"function":"` + fn + `"`)
	}
	e.SetOutput(w)
	return e
}

// SetOutput replaces the writer (nil stops writing).
func (e *Emitter) SetOutput(w io.Writer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.w = w
	e.on.Store(w != nil && w != io.Discard)
}

// SetClock replaces the clock that stamps each document (tests).
func (e *Emitter) SetClock(now func() time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = now
}

// Default is the emitter Start and the standalone hooks use: stdout in
// Lambda, nothing elsewhere.
var Default = NewEmitter(defaultOutput())

func defaultOutput() io.Writer {
	if os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
		return os.Stdout
	}
	return nil
}

// SetOutput points the Default emitter at w (nil stops it) and returns a
// function that restores the previous writer.
func SetOutput(w io.Writer) (restore func()) {
	Default.mu.Lock()
	old := Default.w
	Default.mu.Unlock()
	Default.SetOutput(w)
	return func() { Default.SetOutput(old) }
}

func (e *Emitter) write(b []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.w != nil {
		_, _ = e.w.Write(b) // metrics never fail a request
	}
}

func (e *Emitter) stamp() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now().UnixMilli()
}

// invocation is the context of one Lambda invocation: it carries the
// recorder without a second allocation for context.WithValue.
type invocation struct {
	context.Context
	rec *Recorder
}

type ctxKey struct{}

func (c *invocation) Value(k any) any {
	if k == (ctxKey{}) {
		return c
	}
	return c.Context.Value(k)
}

// Start begins an invocation on the Default emitter: the hooks called with
// the returned context (or one derived from it) record into rec, and
// rec.Flush writes them. Call it first in a Lambda handler:
//
//	ctx, rec := metrics.Start(ctx)
//	defer rec.Flush()
func Start(ctx context.Context) (context.Context, *Recorder) { return Default.Start(ctx) }

// Start begins an invocation on e (see the package function Start).
func (e *Emitter) Start(ctx context.Context) (context.Context, *Recorder) {
	if !e.on.Load() {
		return ctx, nil
	}
	r := recorders.Get().(*Recorder)
	inv := &invocation{Context: ctx, rec: r}
	r.mu.Lock()
	r.e, r.owner = e, inv
	r.mu.Unlock()
	return inv, r
}

var recorders = sync.Pool{New: func() any { return new(Recorder) }}

// A hook called with a context of no invocation (a background JWKS refresh,
// say) writes its one datum as a line of its own.
func record(ctx context.Context, s series) {
	if inv, ok := ctx.Value(ctxKey{}).(*invocation); ok && inv.rec.add(inv, s) {
		return
	}
	if !Default.on.Load() {
		return
	}
	r := recorders.Get().(*Recorder)
	r.mu.Lock()
	r.e, r.owner = Default, nil
	r.addLocked(s)
	r.mu.Unlock()
	r.Flush()
}

// Request counts one answered request of route with the HTTP status the
// client got: Requests{Route, Outcome}, where the outcome is "OK" for a 2xx
// and otherwise the envelope's error code for that status; a 429 also counts
// RateLimited{Route} and a 503 Unavailable{Component=function}. The adapter
// calls it once per request, after the response is final.
func Request(ctx context.Context, route Route, status int) {
	o := outcomeOf(status)
	record(ctx, series{m: mRequests, dims: dims(dRoute, uint8(route), dOutcome, o), count: 1})
	switch o {
	case outcomeRateLimited:
		record(ctx, series{m: mRateLimited, dims: dims(dRoute, uint8(route), 0, 0), count: 1})
	case outcomeUnavailable:
		Unavailable(ctx, Function)
	}
}

// Denial counts one credential the authorizer refused.
func Denial(ctx context.Context, r Reason) {
	record(ctx, series{m: mDenials, dims: dims(dReason, r.v, 0, 0), count: 1})
}

// Unavailable counts one 503: the authorizer's (store or JWKS unreachable,
// which API Gateway answers 503) or a function's. Request already counts a
// function's 503s; the authorizer calls this itself.
func Unavailable(ctx context.Context, c Component) {
	record(ctx, series{m: mUnavailable, dims: dims(dComponent, c.v, 0, 0), count: 1})
}

// JWKSFetch counts one fetch of the issuer's JWKS (cognito.Options.OnFetch
// calls it; app.Verifier wires that). A fetch has no invocation context (it
// may be a background refresh), so it writes a line of its own.
func JWKSFetch(ctx context.Context, ok bool) {
	v := uint8(resultError)
	if ok {
		v = resultOK
	}
	record(ctx, series{m: mJWKSFetches, dims: dims(dResult, v, 0, 0), count: 1})
}

// storeLatency records one DynamoDB call; unknown operations are not
// recorded.
func storeLatency(ctx context.Context, operation string, d time.Duration) {
	op := operationOf(operation)
	if op == 0 {
		return
	}
	ms := float64(d.Microseconds()) / 1000
	record(ctx, series{m: mStoreLatency, dims: dims(dOperation, op, 0, 0), value: ms, hasValue: true})
}
