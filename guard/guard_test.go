package guard_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/guard"
	"github.com/keygate/keygate/internal/guardhook"
	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/principal"
)

// meter stands in for the meter's answer (the store is tested in
// shared/metering and end to end); it records what it was asked.
type meter struct {
	mu    sync.Mutex
	calls []route.Route
	from  netip.Addr
	q     metering.Quota
	err   error
}

func (m *meter) Count(_ context.Context, _ principal.Principal, rt route.Route, from netip.Addr) (metering.Quota, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, rt)
	m.from = from
	return m.q, m.err
}

func (m *meter) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

var (
	now   = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	reset = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	quota = metering.Quota{Limit: 12, Used: 5, Remaining: 7, Reset: reset, At: now}

	routes = route.Table{
		{Function: "things", Method: "GET", Path: "/v1/things/{id}", Scope: "things:read", Cost: 1},
		{Function: "things", Method: "POST", Path: "/v1/things", Scope: "things:write", Cost: 5},
	}

	keyPrincipal = principal.Principal{
		Sub: "user-1", Tier: principal.Pro, TeamID: "team-1", Method: principal.ViaKey,
		KeyPrefix: "csk_live_0123abcd", KeyID: "6f1c2a4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f", KeyName: "ci",
		Budget: "b-1", CreatedBy: "user-1", DailyLimit: 12, Scopes: "things:read things:write",
	}
	workspacePrincipal = principal.Principal{
		Tier: principal.Team, TeamID: "ws-1", Method: principal.ViaKey, KeyPrefix: "csk_live_99990000",
		KeyID: "0f1c2a4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f", Budget: "b-2", WorkspaceID: "ws-1", CreatedBy: "admin-1",
		DailyLimit: 50, Scopes: "things:read",
	}
	userPrincipal = principal.Principal{Sub: "user-1", Tier: principal.Pro, Method: principal.ViaJWT, Email: "u@example.com"}
)

const secret = "csk_live_0123abcd0123abcd0123abcd0123abcd"

// event is a proxy event as API Gateway sends it for one of routes.
func event(method, resource, path string, p principal.Principal, body string) events.APIGatewayProxyRequest {
	ev := events.APIGatewayProxyRequest{
		HTTPMethod: method, Resource: resource, Path: path, Body: body,
		Headers: map[string]string{"authorization": "Bearer " + secret, "content-type": "application/json", "x-trace": "b"},
		MultiValueHeaders: map[string][]string{
			"authorization": {"Bearer " + secret}, "content-type": {"application/json"}, "x-trace": {"a", "b"},
		},
		QueryStringParameters:           map[string]string{"tag": "y"},
		MultiValueQueryStringParameters: map[string][]string{"tag": {"x", "y"}},
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "req-1", ResourcePath: resource, HTTPMethod: method,
			Identity: events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7", UserAgent: "test"},
		},
	}
	if strings.Contains(resource, "{id}") {
		ev.PathParameters = map[string]string{"id": strings.TrimPrefix(path, "/v1/things/")}
	}
	if p.Method != "" {
		ev.RequestContext.Authorizer = p.Context()
	}
	return ev
}

type answer struct {
	events.APIGatewayProxyResponse
	JSON map[string]any
}

func (a answer) data() map[string]any {
	d, _ := a.JSON["data"].(map[string]any)
	return d
}

func (a answer) code() string {
	e, _ := a.JSON["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// product wires h for routes with m and returns a function to call it and
// the log it writes.
func product(t *testing.T, h guard.Handler, m *meter) (func(events.APIGatewayProxyRequest) answer, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	l, err := guard.NewLambda(h, routes, guard.Options{
		Meter: m, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Clock: clock.NewFixed(now),
		Origins: []string{"https://app.example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return func(ev events.APIGatewayProxyRequest) answer {
		t.Helper()
		resp, err := l(context.Background(), ev)
		if err != nil {
			t.Fatalf("the Lambda returned an error (API Gateway would answer 502): %v", err)
		}
		a := answer{APIGatewayProxyResponse: resp}
		if resp.Headers["Content-Type"] == "application/json" {
			if err := json.Unmarshal([]byte(resp.Body), &a.JSON); err != nil {
				t.Fatalf("body is not JSON: %q", resp.Body)
			}
		}
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the log holds the credential:\n%s", logs.String())
		}
		return a
	}, &logs
}

func TestHandlerFunc(t *testing.T) {
	var seen struct {
		r      guard.Request
		caller guard.Principal
		ok     bool
	}
	h := guard.HandlerFunc(func(ctx context.Context, r *guard.Request) (guard.Response, error) {
		seen.r = *r
		seen.caller, seen.ok = guard.PrincipalFrom(ctx)
		if r.Method == "POST" {
			return guard.Response{Status: http.StatusCreated, Data: map[string]string{"id": "t-2"}}, nil
		}
		return guard.Response{Data: map[string]string{"id": r.PathParams["id"]}}, nil
	})
	m := &meter{q: quota}
	call, _ := product(t, h, m)

	t.Run("a key's request is metered at the route's cost and answered in the envelope with the rate-limit headers", func(t *testing.T) {
		a := call(event("POST", "/v1/things", "/v1/things", keyPrincipal, `{"name":"x"}`))
		if a.StatusCode != 201 || a.JSON["success"] != true || a.data()["id"] != "t-2" {
			t.Fatalf("%d %s", a.StatusCode, a.Body)
		}
		if a.Headers["X-RateLimit-Limit"] != "12" || a.Headers["X-RateLimit-Remaining"] != "7" || a.Headers["X-RateLimit-Reset"] != fmt.Sprint(reset.Unix()) {
			t.Fatalf("headers %v", a.Headers)
		}
		if m.count() != 1 || m.calls[0].Cost != 5 || m.calls[0].Scope != "things:write" || m.from.String() != "203.0.113.7" {
			t.Fatalf("meter asked %+v from %v", m.calls, m.from)
		}
	})
	t.Run("the handler sees the request and the principal, never the credential", func(t *testing.T) {
		call(event("GET", "/v1/things/{id}", "/v1/things/t%2F1", keyPrincipal, ""))
		r := seen.r
		if r.Method != "GET" || r.Path != "/v1/things/t%2F1" || r.Route.Path != "/v1/things/{id}" || r.Route.Scope != "things:read" ||
			r.PathParams["id"] != "t%2F1" || r.RequestID != "req-1" || r.SourceIP != netip.MustParseAddr("203.0.113.7") {
			t.Fatalf("request %+v", r)
		}
		if got := r.Query["tag"]; len(got) != 2 || got[0] != "x" || got[1] != "y" {
			t.Fatalf("query %v", r.Query)
		}
		if got := r.Header().Values("X-Trace"); len(got) != 2 || r.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("header %v", r.Header())
		}
		if _, ok := r.Header()["Authorization"]; ok {
			t.Fatal("the handler was handed the Authorization header")
		}
		c := seen.caller
		if !seen.ok || c.Kind != guard.KindKey || c.Sub != "user-1" || c.Tier != "pro" || c.TeamID != "team-1" ||
			c.KeyPrefix != "csk_live_0123abcd" || c.KeyID != keyPrincipal.KeyID || c.KeyName != "ci" || c.CreatedBy != "user-1" ||
			c.DailyLimit != 12 || strings.Join(c.Scopes, " ") != "things:read things:write" || c.WorkspaceID != "" {
			t.Fatalf("principal %+v", c)
		}
		if !c.HasScope("things:read") || c.HasScope("things:delete") || c.Owner() != "user-1" {
			t.Fatalf("HasScope/Owner of %+v", c)
		}
	})
	t.Run("a header sent in two spellings is one header; single-value events work too", func(t *testing.T) {
		ev := event("GET", "/v1/things/{id}", "/v1/things/t-1", keyPrincipal, "")
		ev.MultiValueHeaders["X-Trace"] = []string{"c"}
		call(ev)
		if got := seen.r.Header().Values("X-Trace"); len(got) != 3 {
			t.Fatalf("X-Trace %v", got)
		}
		ev.MultiValueHeaders, ev.MultiValueQueryStringParameters, ev.Path = nil, nil, ""
		call(ev)
		if seen.r.Header().Get("X-Trace") != "b" || seen.r.Query.Get("tag") != "y" || seen.r.Path != "/v1/things/t-1" || seen.r.Header().Get("Authorization") != "" {
			t.Fatalf("%+v", seen.r)
		}
	})
	t.Run("a workspace key's scopes and workspace are visible", func(t *testing.T) {
		a := call(event("GET", "/v1/things/{id}", "/v1/things/t-1", workspacePrincipal, ""))
		c := seen.caller
		if a.StatusCode != 200 || c.Kind != guard.KindKey || c.Sub != "" || c.WorkspaceID != "ws-1" || c.TeamID != "ws-1" ||
			c.Tier != "team" || strings.Join(c.Scopes, " ") != "things:read" || c.Owner() != "workspace:ws-1" || c.CreatedBy != "admin-1" {
			t.Fatalf("%d principal %+v", a.StatusCode, c)
		}
	})
	t.Run("a key without the route's scope is refused before the meter and the handler", func(t *testing.T) {
		before, seen0 := m.count(), seen.r.RequestID
		seen.r.RequestID = ""
		a := call(event("POST", "/v1/things", "/v1/things", workspacePrincipal, ""))
		if a.StatusCode != 403 || a.code() != "Forbidden" || !strings.Contains(a.Body, "things:write") {
			t.Fatalf("%d %s", a.StatusCode, a.Body)
		}
		if m.count() != before || seen.r.RequestID != "" {
			t.Fatal("metered or served")
		}
		seen.r.RequestID = seen0
	})
	t.Run("a signed-in user is not metered, has every scope and gets no rate-limit headers", func(t *testing.T) {
		before := m.count()
		a := call(event("POST", "/v1/things", "/v1/things", userPrincipal, ""))
		if a.StatusCode != 201 || m.count() != before || a.Headers["X-RateLimit-Remaining"] != "" {
			t.Fatalf("%d %v, meter calls %d", a.StatusCode, a.Headers, m.count()-before)
		}
		c := seen.caller
		if c.Kind != guard.KindUser || strings.Join(c.Scopes, ",") != guard.AllScopes || !c.HasScope("anything:at-all") ||
			c.Email != "u@example.com" || c.KeyPrefix != "" || c.DailyLimit != 0 {
			t.Fatalf("principal %+v", c)
		}
	})
	t.Run("CORS headers for an allowed origin", func(t *testing.T) {
		ev := event("GET", "/v1/things/{id}", "/v1/things/t-1", keyPrincipal, "")
		ev.Headers["origin"] = "https://app.example.com"
		a := call(ev)
		if a.Headers["Access-Control-Allow-Origin"] != "https://app.example.com" || a.Headers["Vary"] != "Origin" {
			t.Fatalf("%v", a.Headers)
		}
	})
}

func TestMeterRefusals(t *testing.T) {
	served := 0
	h := guard.HandlerFunc(func(context.Context, *guard.Request) (guard.Response, error) {
		served++
		return guard.Response{}, nil
	})
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"over the daily limit", apierr.New(apierr.RateLimitExceeded, "spent"), 429, "RateLimitExceeded"},
		{"revoked", apierr.New(apierr.Unauthorized, "revoked"), 401, "Unauthorized"},
		{"outside the key's networks", apierr.New(apierr.Forbidden, "from 203.0.113.7"), 403, "Forbidden"},
		{"store unavailable", apierr.Unavailable(errors.New("timeout")), 503, "ServiceUnavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is "+fmt.Sprint(tt.status)+" and the handler never runs", func(t *testing.T) {
			q := quota
			q.Remaining = 0
			call, _ := product(t, h, &meter{q: q, err: tt.err})
			ev := event("POST", "/v1/things", "/v1/things", keyPrincipal, "")
			ev.Headers["Origin"] = "https://app.example.com"
			a := call(ev)
			if a.StatusCode != tt.status || a.code() != tt.code || served != 0 {
				t.Fatalf("%d %s (served %d)", a.StatusCode, a.Body, served)
			}
			if tt.status == 429 && (a.Headers["Retry-After"] == "" || a.Headers["X-RateLimit-Remaining"] != "0") {
				t.Fatalf("429 headers %v", a.Headers)
			}
			if a.Headers["Access-Control-Allow-Origin"] == "" {
				t.Fatalf("a refusal lacks the CORS headers: %v", a.Headers)
			}
		})
	}
}

func TestResponses(t *testing.T) {
	var out guard.Response
	var outErr error
	h := guard.HandlerFunc(func(context.Context, *guard.Request) (guard.Response, error) { return out, outErr })
	call, logs := product(t, h, &meter{q: quota})
	get := func() answer { return call(event("GET", "/v1/things/{id}", "/v1/things/t-1", keyPrincipal, "")) }

	t.Run("headers go with the envelope", func(t *testing.T) {
		out, outErr = guard.Response{Status: 201, Data: []int{1}, Header: http.Header{"Location": {"/v1/things/t-3"}, "Link": {"<a>", "<b>"}}}, nil
		a := get()
		if a.StatusCode != 201 || a.Body != `{"success":true,"data":[1]}`+"\n" || a.Headers["Location"] != "/v1/things/t-3" ||
			a.Headers["Content-Type"] != "application/json" || len(a.MultiValueHeaders["Link"]) != 2 || a.Headers["X-RateLimit-Remaining"] != "7" {
			t.Fatalf("%d %v %v %q", a.StatusCode, a.Headers, a.MultiValueHeaders, a.Body)
		}
	})
	t.Run("a raw body is sent as it is, non-UTF-8 in base64", func(t *testing.T) {
		out, outErr = guard.Response{Body: []byte("id,title\n1,a\n"), Header: http.Header{"Content-Type": {"text/csv"}}}, nil
		a := get()
		if a.StatusCode != 200 || a.Body != "id,title\n1,a\n" || a.Headers["Content-Type"] != "text/csv" || a.IsBase64Encoded {
			t.Fatalf("%d %v %q", a.StatusCode, a.Headers, a.Body)
		}
		out = guard.Response{Body: []byte{0x89, 'P', 'N', 'G', 0xff}}
		a = get()
		if b, _ := base64.StdEncoding.DecodeString(a.Body); !a.IsBase64Encoded || string(b) != "\x89PNG\xff" || a.Headers["Content-Type"] == "" {
			t.Fatalf("%v %q", a.Headers, a.Body)
		}
	})
	t.Run("204 has no body", func(t *testing.T) {
		out, outErr = guard.Response{Status: 204}, nil
		if a := get(); a.StatusCode != 204 || a.Body != "" {
			t.Fatalf("%d %q", a.StatusCode, a.Body)
		}
	})
	t.Run("Errorf is its code's envelope and status", func(t *testing.T) {
		for code, status := range map[guard.Code]int{guard.BadRequest: 400, guard.NotFound: 404, guard.Conflict: 409, guard.Forbidden: 403, "Teapot": 500} {
			out, outErr = guard.Response{}, guard.Errorf(code, "No thing %q.", "t-1")
			a := get()
			want := string(code)
			if status == 500 {
				want = "InternalError"
			}
			if a.StatusCode != status || a.code() != want || !strings.Contains(a.Body, `No thing \"t-1\".`) {
				t.Fatalf("%s: %d %s", code, a.StatusCode, a.Body)
			}
		}
	})
	t.Run("any other error is a 500 whose cause is logged, not shown", func(t *testing.T) {
		out, outErr = guard.Response{}, errors.New("disk on fire")
		a := get()
		if a.StatusCode != 500 || a.code() != "InternalError" || strings.Contains(a.Body, "fire") || !strings.Contains(logs.String(), "disk on fire") {
			t.Fatalf("%d %s\n%s", a.StatusCode, a.Body, logs.String())
		}
	})
	t.Run("a failure status without an error or a body is a bug: 500", func(t *testing.T) {
		out, outErr = guard.Response{Status: 404, Data: "nope"}, nil
		if a := get(); a.StatusCode != 500 || a.code() != "InternalError" || !strings.Contains(logs.String(), "guard.Errorf") {
			t.Fatalf("%d %s", a.StatusCode, a.Body)
		}
	})
	t.Run("data that cannot be JSON is a 500", func(t *testing.T) {
		out, outErr = guard.Response{Data: func() {}}, nil
		if a := get(); a.StatusCode != 500 || a.code() != "InternalError" {
			t.Fatalf("%d %s", a.StatusCode, a.Body)
		}
	})
	t.Run("a panic is a 500 with the rate-limit headers", func(t *testing.T) {
		call, logs := product(t, guard.HandlerFunc(func(context.Context, *guard.Request) (guard.Response, error) { panic("boom") }), &meter{q: quota})
		a := call(event("GET", "/v1/things/{id}", "/v1/things/t-1", keyPrincipal, ""))
		if a.StatusCode != 500 || a.code() != "InternalError" || a.Headers["X-RateLimit-Remaining"] != "7" || !strings.Contains(logs.String(), "boom") {
			t.Fatalf("%d %v %s", a.StatusCode, a.Headers, a.Body)
		}
	})
	t.Run("a body over the limit is 400 before the handler", func(t *testing.T) {
		out, outErr = guard.Response{}, nil
		a := call(event("POST", "/v1/things", "/v1/things", keyPrincipal, strings.Repeat("x", 16<<10+1)))
		if a.StatusCode != 400 || a.code() != "BadRequest" {
			t.Fatalf("%d %s", a.StatusCode, a.Body)
		}
	})
}

func TestHTTP(t *testing.T) {
	mux := http.NewServeMux()
	var seen *http.Request
	var caller guard.Principal
	mux.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		seen, caller = r, guard.Principal{}
		caller, _ = guard.PrincipalFrom(r.Context())
		switch r.PathValue("id") {
		case "missing":
			guard.WriteError(w, guard.Errorf(guard.NotFound, "No thing %q.", r.PathValue("id")))
		case "broken":
			_, _ = w.Write([]byte("partial"))
			guard.WriteError(w, errors.New("disk on fire"))
		case "csv":
			w.Header().Set("Content-Type", "text/csv")
			_, _ = w.Write([]byte("a,b\n"))
		default:
			w.Header().Add("X-Thing", "1")
			w.Header().Add("X-Thing", "2")
			guard.WriteData(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "tags": r.URL.Query()["tag"]})
		}
	})
	mux.HandleFunc("POST /v1/things", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name string `json:"name"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := guard.DecodeJSON(body, &in); err != nil {
			guard.WriteError(wrapped{w}, err)
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.WriteHeader(http.StatusTeapot) // ignored, as net/http does
		_, _ = io.WriteString(w, `{"name":"`+in.Name+`"}`)
	})
	m := &meter{q: quota}
	call, logs := product(t, guard.HTTP(mux), m)

	t.Run("the net/http handler gets the request with the principal and answers behind the meter", func(t *testing.T) {
		a := call(event("GET", "/v1/things/{id}", "/v1/things/t-1", keyPrincipal, ""))
		if a.StatusCode != 200 || a.data()["id"] != "t-1" || fmt.Sprint(a.data()["tags"]) != "[x y]" || a.Headers["X-RateLimit-Remaining"] != "7" ||
			len(a.MultiValueHeaders["X-Thing"]) != 2 {
			t.Fatalf("%d %v %v %s", a.StatusCode, a.Headers, a.MultiValueHeaders, a.Body)
		}
		if seen.Method != "GET" || seen.URL.Path != "/v1/things/t-1" || seen.RemoteAddr != "203.0.113.7:0" || seen.Header.Get("Authorization") != "" ||
			len(seen.Header.Values("X-Trace")) != 2 || seen.RequestURI != "/v1/things/t-1?tag=x&tag=y" {
			t.Fatalf("request %s %s %q %v %q", seen.Method, seen.URL, seen.RemoteAddr, seen.Header, seen.RequestURI)
		}
		if caller.Kind != guard.KindKey || caller.KeyPrefix != "csk_live_0123abcd" || m.count() != 1 {
			t.Fatalf("principal %+v, meter %d", caller, m.count())
		}
	})
	t.Run("WriteError is keygate's envelope; a plain error a logged 500 whatever was written", func(t *testing.T) {
		a := call(event("GET", "/v1/things/{id}", "/v1/things/missing", keyPrincipal, ""))
		if a.StatusCode != 404 || a.code() != "NotFound" || a.Headers["X-RateLimit-Remaining"] != "7" {
			t.Fatalf("%d %s", a.StatusCode, a.Body)
		}
		a = call(event("GET", "/v1/things/{id}", "/v1/things/broken", keyPrincipal, ""))
		if a.StatusCode != 500 || a.code() != "InternalError" || strings.Contains(a.Body, "partial") || !strings.Contains(logs.String(), "disk on fire") {
			t.Fatalf("%d %s", a.StatusCode, a.Body)
		}
	})
	t.Run("a raw answer keeps its type", func(t *testing.T) {
		a := call(event("GET", "/v1/things/{id}", "/v1/things/csv", keyPrincipal, ""))
		if a.StatusCode != 200 || a.Body != "a,b\n" || a.Headers["Content-Type"] != "text/csv" {
			t.Fatalf("%d %v %q", a.StatusCode, a.Headers, a.Body)
		}
	})
	t.Run("the body reaches the handler; DecodeJSON's 400 names the field through wrapping middleware", func(t *testing.T) {
		a := call(event("POST", "/v1/things", "/v1/things", keyPrincipal, `{"name":"n"}`))
		if a.StatusCode != 201 || a.Body != `{"name":"n"}` || a.Headers["Content-Type"] == "" {
			t.Fatalf("%d %v %q", a.StatusCode, a.Headers, a.Body)
		}
		a = call(event("POST", "/v1/things", "/v1/things", keyPrincipal, `{"nmae":"n"}`))
		if a.StatusCode != 400 || a.code() != "BadRequest" || !strings.Contains(a.Body, "'nmae'") {
			t.Fatalf("%d %s", a.StatusCode, a.Body)
		}
	})
	t.Run("base64 bodies are decoded", func(t *testing.T) {
		ev := event("POST", "/v1/things", "/v1/things", keyPrincipal, base64.StdEncoding.EncodeToString([]byte(`{"name":"b"}`)))
		ev.IsBase64Encoded = true
		if a := call(ev); a.StatusCode != 201 || a.Body != `{"name":"b"}` {
			t.Fatalf("%d %q", a.StatusCode, a.Body)
		}
	})
}

// wrapped is middleware's response writer that says what it wraps.
type wrapped struct{ http.ResponseWriter }

func (w wrapped) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestRoutes(t *testing.T) {
	list := guard.HandlerFunc(func(context.Context, *guard.Request) (guard.Response, error) {
		return guard.Response{Data: "list"}, nil
	})
	create := guard.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		guard.WriteData(w, http.StatusCreated, "create")
	}))

	t.Run("each route gets its own handler", func(t *testing.T) {
		call, _ := product(t, guard.Routes{"GET /v1/things/{id}": list, "POST /v1/things": create}, &meter{q: quota})
		if a := call(event("GET", "/v1/things/{id}", "/v1/things/1", keyPrincipal, "")); a.StatusCode != 200 || a.data() != nil || a.JSON["data"] != "list" {
			t.Fatalf("%d %s", a.StatusCode, a.Body)
		}
		if a := call(event("POST", "/v1/things", "/v1/things", keyPrincipal, "")); a.StatusCode != 201 || a.JSON["data"] != "create" {
			t.Fatalf("%d %s", a.StatusCode, a.Body)
		}
	})
	t.Run("Routes and the declared routes must name the same routes", func(t *testing.T) {
		for name, rs := range map[string]guard.Routes{
			"a typo":         {"GET /v1/thing/{id}": list, "POST /v1/things": create},
			"a missing one":  {"GET /v1/things/{id}": list},
			"a nil handler":  {"GET /v1/things/{id}": list, "POST /v1/things": nil},
			"an extra route": {"GET /v1/things/{id}": list, "POST /v1/things": create, "DELETE /v1/things/{id}": list},
		} {
			if _, err := guard.NewLambda(rs, routes, guard.Options{}); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
	})
}

func TestUndeclaredRouteIs500NeverUnmetered(t *testing.T) {
	served := false
	m := &meter{q: quota}
	call, logs := product(t, guard.HandlerFunc(func(context.Context, *guard.Request) (guard.Response, error) {
		served = true
		return guard.Response{}, nil
	}), m)
	for _, ev := range []events.APIGatewayProxyRequest{
		event("DELETE", "/v1/things/{id}", "/v1/things/1", keyPrincipal, ""),
		event("GET", "/v1/other", "/v1/other", keyPrincipal, ""),
		event("GET", "", "", keyPrincipal, ""),
	} {
		ev.Headers["Origin"] = "https://app.example.com"
		a := call(ev)
		if a.StatusCode != 500 || a.code() != "InternalError" || served || m.count() != 0 || a.Headers["Access-Control-Allow-Origin"] == "" {
			t.Fatalf("%s %s: %d %v %s (served %v, metered %d)", ev.HTTPMethod, ev.Resource, a.StatusCode, a.Headers, a.Body, served, m.count())
		}
	}
	if !strings.Contains(logs.String(), "KEYGATE_ROUTES") || !strings.Contains(logs.String(), "DELETE /v1/things/{id}") {
		t.Fatalf("the log does not say what is misconfigured:\n%s", logs.String())
	}
}

func TestPrincipalContext(t *testing.T) {
	if _, ok := guard.PrincipalFrom(context.Background()); ok {
		t.Fatal("a principal outside a request")
	}
	p := guard.Principal{Kind: guard.KindKey, Sub: "s", Scopes: []string{"things:read"}}
	got, ok := guard.PrincipalFrom(guard.WithPrincipal(context.Background(), p))
	if !ok || got.Sub != "s" || !got.HasScope("things:read") || got.HasScope("things:write") {
		t.Fatalf("%+v %v", got, ok)
	}
	if (guard.Principal{Sub: "s", IssuerTag: "0a1b2c3d"}).Owner() != "0a1b2c3d|s" {
		t.Fatal("Owner does not tell issuers apart")
	}
}

func TestLocalModeHook(t *testing.T) {
	if _, ok := guardhook.RouteHandler(guard.HTTP(http.NotFoundHandler())); !ok {
		t.Fatal("a guard handler is not recognised")
	}
	if _, ok := guardhook.RouteHandler(http.NotFoundHandler()); ok {
		t.Fatal("a plain http.Handler is taken for a guard handler")
	}
}

func TestFromEnvNamesWhatIsMissing(t *testing.T) {
	h := guard.HTTP(http.NotFoundHandler())
	enc := route.Encode(routes)
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no table", map[string]string{"KEYGATE_ROUTES": enc}, "KEYGATE_TABLE"},
		{"no routes", map[string]string{"KEYGATE_TABLE": "t"}, "KEYGATE_ROUTES is not set"},
		{"malformed routes", map[string]string{"KEYGATE_TABLE": "t", "KEYGATE_ROUTES": `[{"method":"GET"}]`}, "KEYGATE_ROUTES"},
		{"an unknown field in routes", map[string]string{"KEYGATE_TABLE": "t", "KEYGATE_ROUTES": `[{"method":"GET","path":"/v1/x","scopes":"a:b"}]`}, "KEYGATE_ROUTES"},
		{"one of keygate's own routes", map[string]string{"KEYGATE_TABLE": "t", "KEYGATE_ROUTES": `[{"method":"GET","path":"/v1/usage"}]`}, "declared twice"},
		{"a bad store timeout", map[string]string{"KEYGATE_TABLE": "t", "KEYGATE_ROUTES": enc, "KEYGATE_STORE_TIMEOUT_MS": "soon"}, "KEYGATE_STORE_TIMEOUT_MS"},
		{"a bad origin", map[string]string{"KEYGATE_TABLE": "t", "KEYGATE_ROUTES": enc, "KEYGATE_ALLOWED_ORIGINS": "app.example.com"}, "KEYGATE_ALLOWED_ORIGINS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := guard.FromEnv(context.Background(), func(k string) string { return tt.env[k] }, h, slog.Default())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
	if _, err := guard.FromEnv(context.Background(), func(string) string { return "" }, nil, slog.Default()); err == nil {
		t.Fatal("a nil handler starts")
	}
}
