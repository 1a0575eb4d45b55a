package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

var schema = func() *jsonschema.Schema {
	b, err := os.ReadFile("testdata/emf-schema.json")
	if err != nil {
		panic(err)
	}
	return jsonschema.MustCompileString("emf-schema.json", string(b))
}()

type lines struct {
	mu sync.Mutex
	b  bytes.Buffer
	n  int // Write calls
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	return l.b.Write(p)
}

func (l *lines) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSuffix(l.b.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

var fixed = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newEmitter(t *testing.T) (*Emitter, *lines) {
	t.Helper()
	out := &lines{}
	e := NewEmitter(out)
	e.SetClock(func() time.Time { return fixed })
	return e, out
}

// useDefault points the Default emitter at a buffer for one test.
func useDefault(t *testing.T) *lines {
	t.Helper()
	out := &lines{}
	restore := SetOutput(out)
	Default.SetClock(func() time.Time { return fixed })
	t.Cleanup(func() { restore(); Default.SetClock(time.Now) })
	return out
}

// check validates every line against the published JSON schema and the
// specification's reference rules, and returns the data.
func check(t *testing.T, ls []string) []Datum {
	t.Helper()
	var all []Datum
	for _, l := range ls {
		var v any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line is not JSON: %v\n%s", err, l)
		}
		if err := schema.Validate(v); err != nil {
			t.Fatalf("line fails the EMF JSON schema: %v\n%s", err, l)
		}
		d, err := ParseLine([]byte(l))
		if err != nil {
			t.Fatalf("line fails the EMF specification: %v\n%s", err, l)
		}
		all = append(all, d...)
	}
	return all
}

func summary(ds []Datum) []string {
	var s []string
	for _, d := range ds {
		keys := make([]string, 0, len(d.Dims))
		for k, v := range d.Dims {
			keys = append(keys, k+"="+v)
		}
		slices.Sort(keys)
		s = append(s, fmt.Sprintf("%s %s{%s} %v", d.Name, d.Unit, strings.Join(keys, ","), d.Values))
	}
	slices.Sort(s)
	return s
}

func TestInvocationWritesOneLine(t *testing.T) {
	e, out := newEmitter(t)
	ctx, rec := e.Start(context.Background())
	route := RouteOf("GET", "/v1/usage")
	storeLatency(ctx, "UpdateItem", 3512*time.Microsecond)
	Request(ctx, route, 429)
	rec.Flush()

	ls := out.lines()
	if len(ls) != 1 || out.n != 1 {
		t.Fatalf("want one line in one write, got %d lines in %d writes:\n%s", len(ls), out.n, out.b.String())
	}
	got := summary(check(t, ls))
	want := []string{
		"RateLimited Count{Route=GET /v1/usage} [1]",
		"Requests Count{Outcome=RateLimitExceeded,Route=GET /v1/usage} [1]",
		"StoreLatency Milliseconds{Operation=UpdateItem} [3.512]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var doc map[string]any
	_ = json.Unmarshal([]byte(ls[0]), &doc)
	if ts := doc["_aws"].(map[string]any)["Timestamp"].(float64); int64(ts) != fixed.UnixMilli() {
		t.Fatalf("Timestamp %v, want %d (milliseconds)", ts, fixed.UnixMilli())
	}
	if doc["Route"] != "GET /v1/usage" || doc["Outcome"] != "RateLimitExceeded" || doc["Namespace"] != nil {
		t.Fatalf("dimension values must be top-level members: %s", ls[0])
	}
}

func TestEachFurtherValueOfADimensionGetsALine(t *testing.T) {
	e, out := newEmitter(t)
	ctx, rec := e.Start(context.Background())
	Request(ctx, RouteOf("POST", "/v1/api-keys"), 201)
	for range 3 {
		storeLatency(ctx, "GetItem", time.Millisecond)
	}
	storeLatency(ctx, "PutItem", 2*time.Millisecond)
	storeLatency(ctx, "UpdateItem", 4*time.Millisecond)
	rec.Flush()

	ls := out.lines()
	if len(ls) != 3 || out.n != 1 {
		t.Fatalf("three operations need three documents, written at once; got %d lines in %d writes", len(ls), out.n)
	}
	got := summary(check(t, ls))
	want := []string{
		"Requests Count{Outcome=OK,Route=POST /v1/api-keys} [1]",
		"StoreLatency Milliseconds{Operation=GetItem} [1 1 1]",
		"StoreLatency Milliseconds{Operation=PutItem} [2]",
		"StoreLatency Milliseconds{Operation=UpdateItem} [4]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMoreThanAHundredValuesSplit(t *testing.T) {
	e, out := newEmitter(t)
	ctx, rec := e.Start(context.Background())
	for i := range 250 {
		storeLatency(ctx, "Query", time.Duration(i)*time.Millisecond)
	}
	rec.Flush()
	ds := check(t, out.lines())
	total := 0
	for _, d := range ds {
		if len(d.Values) > 100 {
			t.Fatalf("a metric carries %d values; the specification allows 100", len(d.Values))
		}
		total += len(d.Values)
	}
	if total != 250 || len(ds) != 3 {
		t.Fatalf("got %d values in %d documents, want 250 in 3", total, len(ds))
	}
}

func TestOutcomes(t *testing.T) {
	for status, want := range map[int]string{200: "OK", 201: "OK", 400: "BadRequest", 401: "Unauthorized",
		403: "Forbidden", 404: "NotFound", 409: "Conflict", 413: "BadRequest", 429: "RateLimitExceeded",
		500: "InternalError", 502: "InternalError", 503: "ServiceUnavailable"} {
		if got := value(dOutcome, outcomeOf(status)); got != want {
			t.Errorf("status %d: outcome %q, want %q", status, got, want)
		}
	}
}

func TestHooks(t *testing.T) {
	usage := RouteOf("GET", "/v1/usage")
	tests := []struct {
		name string
		do   func(ctx context.Context)
		want []string
	}{
		{"503 of a function counts Unavailable", func(ctx context.Context) { Request(ctx, usage, 503) }, []string{
			"Requests Count{Outcome=ServiceUnavailable,Route=GET /v1/usage} [1]",
			"Unavailable Count{Component=function} [1]",
		}},
		{"authorizer denial", func(ctx context.Context) { Denial(ctx, ReasonWrongSecret) }, []string{
			"Denials Count{Reason=wrong_secret} [1]",
		}},
		{"authorizer unavailable", func(ctx context.Context) { Unavailable(ctx, Authorizer) }, []string{
			"Unavailable Count{Component=authorizer} [1]",
		}},
		{"JWKS fetches", func(ctx context.Context) { JWKSFetch(ctx, true); JWKSFetch(ctx, false); JWKSFetch(ctx, true) }, []string{
			"JWKSFetches Count{Result=error} [1]",
			"JWKSFetches Count{Result=ok} [2]",
		}},
		{"counts add up", func(ctx context.Context) {
			for range 5 {
				Denial(ctx, ReasonRevoked)
			}
		}, []string{"Denials Count{Reason=revoked} [5]"}},
		{"a path with a key in it is never a route", func(ctx context.Context) {
			Request(ctx, RouteOf("DELETE", "/v1/api-keys/csk_live_0123abcd"), 404)
		}, []string{"Requests Count{Outcome=NotFound,Route=other} [1]"}},
		{"values outside the fixed sets are dropped", func(ctx context.Context) {
			Denial(ctx, Reason{200})
			Unavailable(ctx, Component{9})
			Request(ctx, Route(250), 200)
		}, []string{"Requests Count{Outcome=OK,Route=other} [1]"}},
		{"operations outside the fixed set are not recorded", func(ctx context.Context) {
			storeLatency(ctx, "CreateTable", time.Second)
			storeLatency(ctx, "GetItem", time.Millisecond)
		}, []string{"StoreLatency Milliseconds{Operation=GetItem} [1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, out := newEmitter(t)
			ctx, rec := e.Start(context.Background())
			tt.do(ctx)
			rec.Flush()
			got := summary(check(t, out.lines()))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestOutsideAnInvocationAHookWritesItsOwnLine(t *testing.T) {
	out := useDefault(t)
	JWKSFetch(context.Background(), true)
	if got := summary(check(t, out.lines())); !slices.Equal(got, []string{"JWKSFetches Count{Result=ok} [1]"}) {
		t.Fatalf("got %v", got)
	}
}

func TestAHookAfterFlushIsNotCountedInAnotherInvocation(t *testing.T) {
	out := useDefault(t)
	ctx1, rec1 := Start(context.Background())
	Denial(ctx1, ReasonUnknown)
	rec1.Flush()
	ctx2, rec2 := Start(context.Background()) // may reuse rec1's recorder
	Denial(ctx1, ReasonRevoked)               // late, with the first invocation's context
	Denial(ctx2, ReasonExpired)
	rec2.Flush()
	ls := out.lines()
	if len(ls) != 3 {
		t.Fatalf("want 3 lines (first invocation, late hook alone, second invocation), got %d:\n%s", len(ls), strings.Join(ls, "\n"))
	}
	for i, want := range []string{"unknown", "revoked", "expired"} {
		if got := summary(check(t, ls[i:i+1])); !slices.Equal(got, []string{"Denials Count{Reason=" + want + "} [1]"}) {
			t.Fatalf("line %d: got %v", i, got)
		}
	}
}

func TestNothingIsWrittenWhenOff(t *testing.T) {
	e := NewEmitter(nil)
	ctx, rec := e.Start(context.Background())
	if rec != nil {
		t.Fatal("an emitter without output still records")
	}
	Request(ctx, RouteOf("GET", "/v1/usage"), 200) // must not panic
	rec.Flush()
	restore := SetOutput(nil)
	defer restore()
	JWKSFetch(context.Background(), false)
}

func TestInvocationContextKeepsTheRequestsValuesAndDeadline(t *testing.T) {
	type k struct{}
	e, _ := newEmitter(t)
	parent, cancel := context.WithTimeout(context.WithValue(context.Background(), k{}, "v"), time.Minute)
	defer cancel()
	ctx, rec := e.Start(parent)
	defer rec.Flush()
	if ctx.Value(k{}) != "v" {
		t.Fatal("the invocation context hides the parent's values")
	}
	if _, ok := ctx.Deadline(); !ok {
		t.Fatal("the invocation context hides the parent's deadline")
	}
	child, cancel2 := context.WithCancel(ctx)
	cancel()
	<-child.Done() // cancelling the request cancels calls made under it
	cancel2()
}

func TestConcurrentInvocationsNeverInterleave(t *testing.T) {
	e, out := newEmitter(t)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				ctx, rec := e.Start(context.Background())
				var inner sync.WaitGroup
				for range 3 { // a handler calling the store from goroutines
					inner.Go(func() { storeLatency(ctx, "GetItem", time.Millisecond) })
				}
				inner.Wait()
				storeLatency(ctx, "UpdateItem", time.Millisecond)
				Request(ctx, RouteOf("GET", "/v1/usage"), 200+(g+i)%2*229)
				rec.Flush()
			}
		})
	}
	wg.Wait()
	ds := check(t, out.lines())
	var requests, gets float64
	for _, d := range ds {
		switch {
		case d.Name == "Requests":
			requests += d.Values[0]
		case d.Name == "StoreLatency" && d.Dims["Operation"] == "GetItem":
			gets += float64(len(d.Values))
		}
	}
	if requests != 3200 || gets != 9600 {
		t.Fatalf("counted %v requests and %v GetItem calls, want 3200 and 9600", requests, gets)
	}
}

func TestAnInvocationAllocatesOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	e, _ := newEmitter(t)
	route := RouteOf("GET", "/v1/usage")
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		c, rec := e.Start(ctx)
		storeLatency(c, "GetItem", time.Millisecond)
		storeLatency(c, "UpdateItem", time.Millisecond)
		Request(c, route, 200)
		rec.Flush()
	})
	if allocs > 1 {
		t.Fatalf("an invocation costs %v allocations, want at most 1 (its context)", allocs)
	}
}

func TestParseLineEnforcesTheSpecification(t *testing.T) {
	good := `{"_aws":{"Timestamp":1764072000000,"CloudWatchMetrics":[{"Namespace":"Keygate","Dimensions":[["Route"]],"Metrics":[{"Name":"Requests","Unit":"Count"}]}]},"Route":"GET /v1/usage","Requests":1}`
	if _, err := ParseLine([]byte(good)); err != nil {
		t.Fatalf("a valid document is refused: %v", err)
	}
	hundred := strings.TrimSuffix(strings.Repeat("1,", 101), ",")
	dims31 := make([]string, 31)
	members := ""
	for i := range dims31 {
		dims31[i] = fmt.Sprintf(`"D%d"`, i)
		members += fmt.Sprintf(`,"D%d":"v"`, i)
	}
	tests := []struct{ name, line, want string }{
		{"plain log line", `{"level":"INFO","msg":"request"}`, "not an EMF document"},
		{"text before the object", `INFO ` + good, "not a JSON object"},
		{"text after the object", good + ` trailing`, "after the JSON object"},
		{"timestamp in seconds", strings.Replace(good, "1764072000000", "1764072000", 1), "milliseconds"},
		{"timestamp as a string", strings.Replace(good, "1764072000000", `"1764072000000"`, 1), "Timestamp"},
		{"no directives", `{"_aws":{"Timestamp":1764072000000,"CloudWatchMetrics":[]}}`, "non-empty"},
		{"dimension not a member", strings.Replace(good, `"Route":"GET /v1/usage",`, "", 1), `dimension "Route"`},
		{"dimension not a string", strings.Replace(good, `"Route":"GET /v1/usage"`, `"Route":7`, 1), `dimension "Route"`},
		{"metric value missing", strings.Replace(good, `,"Requests":1`, "", 1), "no top-level member"},
		{"metric value a string", strings.Replace(good, `"Requests":1`, `"Requests":"1"`, 1), "neither a number"},
		{"metric values in a nested object", strings.Replace(good, `"Requests":1`, `"Requests":{"v":1}`, 1), "neither a number"},
		{"more than 100 values", strings.Replace(good, `"Requests":1`, `"Requests":[`+hundred+`]`, 1), "1-100 numbers"},
		{"a value in the array is a string", strings.Replace(good, `"Requests":1`, `"Requests":[1,"2"]`, 1), "not a number"},
		{"unknown unit", strings.Replace(good, `"Unit":"Count"`, `"Unit":"Requests"`, 1), "not a CloudWatch unit"},
		{"31 dimensions", strings.Replace(strings.Replace(good, `["Route"]`, "["+strings.Join(dims31, ",")+"]", 1), `"Requests":1`, `"Requests":1`+members, 1), "at most 30"},
		{"extra member in a directive", strings.Replace(good, `"Namespace":"Keygate",`, `"Namespace":"Keygate","Extra":1,`, 1), "does not define"},
		{"empty namespace", strings.Replace(good, `"Namespace":"Keygate"`, `"Namespace":""`, 1), "Namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLine([]byte(tt.line))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
			if tt.name == "plain log line" && !errors.Is(err, ErrNotEMF) {
				t.Fatalf("a plain log line must be ErrNotEMF, got %v", err)
			}
		})
	}
}

func BenchmarkInvocation(b *testing.B) {
	e := NewEmitter(discard{})
	route := RouteOf("GET", "/v1/usage")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, rec := e.Start(ctx)
		storeLatency(c, "GetItem", time.Millisecond)
		storeLatency(c, "UpdateItem", 2*time.Millisecond)
		Request(c, route, 200)
		rec.Flush()
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
