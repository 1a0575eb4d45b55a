package e2e

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/devstack"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// product is the example product (examples/reports) as local mode serves
// it by default, with a count of the invocations of its handlers.
type product struct {
	calls atomic.Int64
}

func (p *product) routes() []devstack.ProductRoute {
	out := devstack.Example()
	for i := range out {
		serve := out[i].Handler
		out[i].Handler = func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
			p.calls.Add(1)
			return serve(ctx, r)
		}
	}
	return out
}

// invocations counts the product Lambda's invocations for method on
// /v1/reports in a stack's log: the adapter logs one "request" line for each
// (the route adapter's own scope check answers 403 too, so only this tells
// that API Gateway refused a request before invoking the Lambda).
func invocations(t *testing.T, logs *testenv.Buffer, method string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		var l struct{ Msg, Method, Resource string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" && l.Method == method && l.Resource == "/v1/reports" {
			n++
		}
	}
	return n
}

// remaining is the X-RateLimit-Remaining of a key response.
func remaining(t *testing.T, r testenv.Response) int {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("X-RateLimit-Remaining"))
	if err != nil {
		t.Fatalf("X-RateLimit-Remaining %q: %s", r.Header.Get("X-RateLimit-Remaining"), r.Body)
	}
	return n
}

func TestScopes(t *testing.T) {
	p := &product{}
	logs := &testenv.Buffer{}
	s := testenv.Stack(t, testenv.Options{Product: p.routes(), Log: logs})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "sc", Tier: "pro"})

	t.Run("GET /v1/scopes lists the deployment's scopes from its route table", func(t *testing.T) {
		r := c.Do("GET", "/v1/scopes", testenv.Bearer(tok), nil)
		testenv.Must(t, r, 200, "")
		var names []string
		for _, sc := range r.Data()["scopes"].([]any) {
			m := sc.(map[string]any)
			names = append(names, m["name"].(string))
			if m["description"] == "" || len(m["routes"].([]any)) == 0 {
				t.Fatalf("%s", r.Body)
			}
		}
		if strings.Join(names, " ") != "reports:read reports:write usage:read" {
			t.Fatalf("scopes %v", names)
		}
	})
	t.Run("a key shows its scopes: * by default, the names sorted", func(t *testing.T) {
		r := c.Do("POST", "/v1/api-keys", testenv.Bearer(tok), map[string]any{"name": "all"})
		testenv.Must(t, r, 201, "")
		if got := r.Data()["scopes"].([]any); len(got) != 1 || got[0] != "*" {
			t.Fatalf("%s", r.Body)
		}
		r = c.Do("POST", "/v1/api-keys", testenv.Bearer(tok), map[string]any{"name": "two", "scopes": []string{"usage:read", "reports:read"}})
		testenv.Must(t, r, 201, "")
		if got := r.Data()["scopes"].([]any); len(got) != 2 || got[0] != "reports:read" || got[1] != "usage:read" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("bad scopes are 400 naming scopes", func(t *testing.T) {
		for _, sc := range []any{[]string{}, []string{"reports:delete"}, []string{"reports:read", "reports:read"}, []string{"*", "reports:read"}, "reports:read", []any{1}} {
			r := c.Do("POST", "/v1/api-keys", testenv.Bearer(tok), map[string]any{"name": "bad", "scopes": sc})
			testenv.Must(t, r, 400, "BadRequest")
			if !strings.Contains(r.Message(), "'scopes'") {
				t.Fatalf("%v: %s", sc, r.Message())
			}
		}
	})

	key, prefix := c.CreateKey(tok, map[string]any{"name": "read-only", "dailyLimit": 100, "scopes": []string{"reports:read"}})
	t.Run("a read-only key may read and nothing else; refusals count nothing and never reach the Lambda", func(t *testing.T) {
		r := c.Do("GET", "/v1/reports", testenv.Bearer(key), nil)
		testenv.Must(t, r, 200, "")
		if remaining(t, r) != 99 {
			t.Fatalf("remaining %s", r.Header.Get("X-RateLimit-Remaining"))
		}
		caller := r.Data()["caller"].(map[string]any)
		if caller["kind"] != "key" || caller["scopes"].([]any)[0] != "reports:read" {
			t.Fatalf("%s", r.Body)
		}
		before, lambdaBefore := p.calls.Load(), invocations(t, logs, "POST")
		for _, try := range []struct{ method, path string }{{"POST", "/v1/reports"}, {"GET", "/v1/usage"}} {
			r := c.Do(try.method, try.path, testenv.Bearer(key), nil)
			testenv.Must(t, r, 403, "Forbidden")
			if !strings.Contains(r.Message(), "reports:read") || !strings.Contains(r.Message(), try.method+" "+try.path) {
				t.Fatalf("%s %s: %s", try.method, try.path, r.Message())
			}
		}
		if p.calls.Load() != before || invocations(t, logs, "POST") != lambdaBefore {
			t.Fatal("a scoped-out route's Lambda was invoked")
		}
		if invocations(t, logs, "GET") == 0 {
			t.Fatal("the log shows no invocation of the product Lambda at all: the count above proves nothing")
		}
		r = c.Do("GET", "/v1/reports", testenv.Bearer(key), nil)
		testenv.Must(t, r, 200, "")
		if remaining(t, r) != 98 {
			t.Fatalf("the refusals were counted: remaining %d", remaining(t, r))
		}
	})
	t.Run("key management stays JWT only whatever the scopes", func(t *testing.T) {
		testenv.Must(t, c.Do("GET", "/v1/api-keys", testenv.Bearer(key), nil), 403, "Forbidden")
	})
	t.Run("narrowing holds on the very next request through warm caches", func(t *testing.T) {
		k, pfx := c.CreateKey(tok, map[string]any{"name": "narrowed", "dailyLimit": 100})
		r := c.Do("POST", "/v1/reports", testenv.Bearer(k), nil)
		testenv.Must(t, r, 201, "")
		if remaining(t, r) != 95 {
			t.Fatalf("cost 5: remaining %d", remaining(t, r))
		}
		r = c.Do("PATCH", "/v1/api-keys/"+pfx, testenv.Bearer(tok), map[string]any{"scopes": []string{"reports:read"}})
		testenv.Must(t, r, 200, "")
		if got := r.Data()["scopes"].([]any); len(got) != 1 || got[0] != "reports:read" {
			t.Fatalf("%s", r.Body)
		}
		r = c.Do("POST", "/v1/reports", testenv.Bearer(k), nil)
		testenv.Must(t, r, 403, "Forbidden")
		if !strings.Contains(r.Message(), "reports:write") {
			t.Fatalf("%s", r.Message())
		}
		r = c.Do("GET", "/v1/reports", testenv.Bearer(k), nil)
		testenv.Must(t, r, 200, "")
		if remaining(t, r) != 94 {
			t.Fatalf("the refused POST was counted: remaining %d", remaining(t, r))
		}
	})
	t.Run("a rotation's successor keeps the scopes unless given new ones", func(t *testing.T) {
		r := c.Do("POST", "/v1/api-keys/"+prefix+"/rotate", testenv.Bearer(tok), map[string]any{"gracePeriodSeconds": 0})
		testenv.Must(t, r, 201, "")
		if got := r.Data()["scopes"].([]any); len(got) != 1 || got[0] != "reports:read" {
			t.Fatalf("%s", r.Body)
		}
		succ := r.Data()["key"].(string)
		testenv.Must(t, c.Do("POST", "/v1/reports", testenv.Bearer(succ), nil), 403, "Forbidden")
		r = c.Do("POST", "/v1/api-keys/"+r.Data()["prefix"].(string)+"/rotate", testenv.Bearer(tok), map[string]any{"gracePeriodSeconds": 0, "scopes": []string{"*"}})
		testenv.Must(t, r, 201, "")
		testenv.Must(t, c.Do("POST", "/v1/reports", testenv.Bearer(r.Data()["key"].(string)), nil), 201, "")
	})
	t.Run("a workspace key takes scopes too", func(t *testing.T) {
		m := testenv.Token(t, s, devissuer.Token{Sub: "m", Tier: "team", TeamID: "ws-sc"})
		r := c.Do("POST", "/api/v1/workspaces/ws-sc/api-keys", testenv.Bearer(m), map[string]any{"name": "ci", "scopes": []string{"reports:read"}, "allowed_ips": []string{"127.0.0.1"}})
		testenv.MustBare(t, r, 201, "")
		if r.JSON["scopes"].([]any)[0] != "reports:read" || r.JSON["allowed_ips"].([]any)[0] != "127.0.0.1/32" {
			t.Fatalf("%s", r.Body)
		}
		wk := r.JSON["key"].(string)
		testenv.Must(t, c.Do("POST", "/v1/reports", testenv.Bearer(wk), nil), 403, "Forbidden")
		r = c.Do("GET", "/v1/reports", testenv.Bearer(wk), nil)
		testenv.Must(t, r, 200, "")
		if r.Data()["caller"].(map[string]any)["scopes"].([]any)[0] != "reports:read" {
			t.Fatalf("%s", r.Body)
		}
	})
}

func TestAllowedNetworks(t *testing.T) {
	probe := &testenv.Probe{}
	clk := clock.NewFixed(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	p := &product{}
	s := testenv.Stack(t, testenv.Options{Clock: clk, Product: p.routes(), DynamoDBOptions: []func(*dynamodb.Options){probe.Option()}})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "net", Tier: "pro", TTL: 24 * time.Hour})

	t.Run("invalid entries are 400 naming allowedIps", func(t *testing.T) {
		for _, ips := range [][]string{{"10.0.0.0/33"}, {"10.0.0.1/8"}, {"not-an-ip"}, {"fe80::1%eth0"}, {"::ffff:10.0.0.1"}, {"10.0.0.1", "10.0.0.1/32"},
			strings.Split(strings.Repeat("10.0.0.1,", 20)+"10.0.0.2", ",")} {
			r := c.Do("POST", "/v1/api-keys", testenv.Bearer(tok), map[string]any{"name": "bad", "allowedIps": ips})
			testenv.Must(t, r, 400, "BadRequest")
			if !strings.Contains(r.Message(), "'allowedIps'") {
				t.Fatalf("%v: %s", ips, r.Message())
			}
		}
	})
	key, prefix := c.CreateKey(tok, map[string]any{"name": "office", "dailyLimit": 100, "allowedIps": []string{"10.0.0.0/8"}})
	t.Run("a request from outside is 403 naming the address, nothing counted", func(t *testing.T) {
		r := c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
		testenv.Must(t, r, 403, "Forbidden")
		if !strings.Contains(r.Message(), "127.0.0.1") || !strings.Contains(r.Message(), "10.0.0.0/8") {
			t.Fatalf("%s", r.Message())
		}
	})
	t.Run("a PATCH to the caller's networks holds on the very next request", func(t *testing.T) {
		r := c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(tok), map[string]any{"allowedIps": []string{"127.0.0.1", "::1"}})
		testenv.Must(t, r, 200, "")
		if got := r.Data()["allowedIps"].([]any); len(got) != 2 || got[0] != "127.0.0.1/32" || got[1] != "::1/128" {
			t.Fatalf("%s", r.Body)
		}
		r = c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
		testenv.Must(t, r, 200, "")
		if remaining(t, r) != 99 {
			t.Fatalf("the refused request was counted: remaining %d", remaining(t, r))
		}
	})
	t.Run("warm requests stay one write and no read with networks", func(t *testing.T) {
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
		probe.Calls()
		for range 3 {
			clk.Advance(time.Second)
			testenv.Must(t, c.Do("GET", "/v1/reports", testenv.Bearer(key), nil), 200, "")
			if got := probe.Calls(); got["UpdateItem"] != 1 || len(got) != 1 {
				t.Fatalf("warm key request: %v, want exactly 1 UpdateItem", got)
			}
		}
	})
	t.Run("narrowing again holds on the very next request", func(t *testing.T) {
		testenv.Must(t, c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(tok), map[string]any{"allowedIps": []string{"192.0.2.0/24"}}), 200, "")
		r := c.Do("GET", "/v1/reports", testenv.Bearer(key), nil)
		testenv.Must(t, r, 403, "Forbidden")
		if !strings.Contains(r.Message(), "127.0.0.1") {
			t.Fatalf("%s", r.Message())
		}
		testenv.Must(t, c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(tok), map[string]any{"allowedIps": []string{}}), 200, "")
		testenv.Must(t, c.Do("GET", "/v1/reports", testenv.Bearer(key), nil), 200, "")
	})
}

func TestRouteCost(t *testing.T) {
	p := &product{}
	s := testenv.Stack(t, testenv.Options{Product: p.routes()})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "cost", Tier: "pro"})

	t.Run("limit 12: two POSTs of 5, the third 429, then a GET of 1", func(t *testing.T) {
		key, _ := c.CreateKey(tok, map[string]any{"name": "twelve", "dailyLimit": 12})
		for want := 7; want >= 2; want -= 5 {
			r := c.Do("POST", "/v1/reports", testenv.Bearer(key), nil)
			testenv.Must(t, r, 201, "")
			if remaining(t, r) != want {
				t.Fatalf("remaining %d, want %d", remaining(t, r), want)
			}
		}
		r := c.Do("POST", "/v1/reports", testenv.Bearer(key), nil)
		testenv.Must(t, r, 429, "RateLimitExceeded")
		if remaining(t, r) != 2 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%v %s", r.Header, r.Body)
		}
		r = c.Do("GET", "/v1/reports", testenv.Bearer(key), nil)
		testenv.Must(t, r, 200, "")
		if remaining(t, r) != 1 {
			t.Fatalf("remaining %d, want 1", remaining(t, r))
		}
		r = c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
		testenv.Must(t, r, 200, "")
		if u := r.Data()["keys"].([]any)[0].(map[string]any); u["used"] != float64(12) || u["remaining"] != float64(0) {
			t.Fatalf("usage reports units: %s", r.Body)
		}
	})
	t.Run("limit 50: 30 concurrent POSTs of 5 admit exactly 10", func(t *testing.T) {
		key, _ := c.CreateKey(tok, map[string]any{"name": "fifty", "dailyLimit": 50})
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			errs   testenv.Errs
			counts = map[int]int{}
			start  = make(chan struct{})
		)
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r, err := c.Try("POST", "/v1/reports", map[string]string{"Authorization": testenv.Bearer(key)}, nil)
				errs.Add(err)
				mu.Lock()
				counts[r.Status]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		errs.Check(t)
		if counts[201] != 10 || counts[429] != 20 {
			t.Fatalf("statuses %v, want 10 admitted and 20 refused", counts)
		}
	})
}
