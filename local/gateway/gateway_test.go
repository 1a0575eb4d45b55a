package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keygate/keygate/functions/handlers"
	"github.com/keygate/keygate/shared/apierr"
)

const (
	arnPrefix = "arn:aws:execute-api:local:000000000000:keygate/local/"
	wildcard  = arnPrefix + "*"
)

// authorizerStub answers with a fixed response or error and records what it
// was asked. It stands in for the authorizer Lambda, not for any store.
type authorizerStub struct {
	mu    sync.Mutex
	calls []events.APIGatewayCustomAuthorizerRequestTypeRequest
	res   events.APIGatewayCustomAuthorizerResponse
	err   error
	panic bool
}

func (a *authorizerStub) handle(_ context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	a.mu.Lock()
	a.calls = append(a.calls, ev)
	a.mu.Unlock()
	if a.panic {
		panic("authorizer bug")
	}
	return a.res, a.err
}

func (a *authorizerStub) called() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.calls)
}

// routeStub is a route Lambda that records its event and answers resp.
type routeStub struct {
	mu    sync.Mutex
	calls []events.APIGatewayProxyRequest
	resp  events.APIGatewayProxyResponse
	panic bool
}

func (r *routeStub) lambda(_ context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	r.mu.Lock()
	r.calls = append(r.calls, ev)
	r.mu.Unlock()
	if r.panic {
		panic("handler bug")
	}
	return r.resp, nil
}

func (r *routeStub) called() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func policy(effect string, resources ...string) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{
		Version: "2012-10-17",
		Statement: []events.IAMPolicyStatement{{
			Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: resources,
		}},
	}
}

func allowAll() events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:    "user-1",
		PolicyDocument: policy("Allow", wildcard),
		Context:        map[string]any{"sub": "user-1", "tier": "pro", "authMethod": "jwt"},
	}
}

type harness struct {
	gw    *Gateway
	auth  *authorizerStub
	route *routeStub
}

func newHarness(auth *authorizerStub) *harness {
	route := &routeStub{resp: events.APIGatewayProxyResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       `{"success":true,"data":{}}`,
	}}
	boom := &routeStub{panic: true}
	return &harness{
		auth:  auth,
		route: route,
		gw: &Gateway{
			Authorizer: auth.handle,
			Routes: []Route{
				{Method: "GET", Path: "/v1/api-keys", Lambda: route.lambda},
				{Method: "POST", Path: "/v1/api-keys", Lambda: route.lambda},
				{Method: "PATCH", Path: "/v1/api-keys/{prefix}", Lambda: route.lambda},
				{Method: "DELETE", Path: "/v1/api-keys/{prefix}", Lambda: route.lambda},
				{Method: "GET", Path: "/v1/boom", Lambda: boom.lambda},
			},
			Log: slog.New(slog.DiscardHandler),
		},
	}
}

func (h *harness) do(method, target, auth, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if auth != "-" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.gw.ServeHTTP(rec, req)
	return rec
}

// checkEnvelope fails t unless rec is exactly the contract's error envelope
// {"success":false,"error":{"code":...,"message":...}} with the status and code.
func checkEnvelope(t *testing.T, rec *httptest.ResponseRecorder, status int, code apierr.Code) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &top); err != nil {
		t.Fatalf("body is not a JSON object: %v; %s", err, rec.Body)
	}
	if keys := sortedKeys(top); !slices.Equal(keys, []string{"error", "success"}) {
		t.Fatalf("envelope has fields %v, want exactly error and success; %s", keys, rec.Body)
	}
	if string(top["success"]) != "false" {
		t.Fatalf("success = %s, want false", top["success"])
	}
	var e map[string]json.RawMessage
	if err := json.Unmarshal(top["error"], &e); err != nil {
		t.Fatalf("error is not an object: %v; %s", err, rec.Body)
	}
	if keys := sortedKeys(e); !slices.Equal(keys, []string{"code", "message"}) {
		t.Fatalf("error has fields %v, want exactly code and message; %s", keys, rec.Body)
	}
	var gotCode, msg string
	if json.Unmarshal(e["code"], &gotCode) != nil || json.Unmarshal(e["message"], &msg) != nil {
		t.Fatalf("code and message must be strings: %s", rec.Body)
	}
	if gotCode != string(code) {
		t.Fatalf("code = %q, want %q", gotCode, code)
	}
	if msg == "" {
		t.Fatal("message is empty")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestGatewayErrors(t *testing.T) {
	tests := []struct {
		name       string
		auth       *authorizerStub
		method     string
		target     string
		header     string // "-" sends none
		status     int
		code       apierr.Code
		authCalled bool
	}{
		{"missing Authorization header is 401 without calling the authorizer",
			&authorizerStub{res: allowAll()}, "GET", "/v1/api-keys", "-", 401, apierr.Unauthorized, false},
		{"empty Authorization header is 401 without calling the authorizer",
			&authorizerStub{res: allowAll()}, "GET", "/v1/api-keys", "", 401, apierr.Unauthorized, false},
		{"blank Authorization header is 401 without calling the authorizer",
			&authorizerStub{res: allowAll()}, "GET", "/v1/api-keys", "   ", 401, apierr.Unauthorized, false},
		{"authorizer Unauthorized error is 401",
			&authorizerStub{err: errors.New("Unauthorized")}, "GET", "/v1/api-keys", "Bearer x", 401, apierr.Unauthorized, true},
		{"other authorizer error is 503",
			&authorizerStub{err: errors.New("get key: connection reset")}, "GET", "/v1/api-keys", "Bearer x", 503, apierr.ServiceUnavailable, true},
		{"authorizer panic is 503",
			&authorizerStub{panic: true}, "GET", "/v1/api-keys", "Bearer x", 503, apierr.ServiceUnavailable, true},
		{"policy Deny is 403",
			&authorizerStub{res: events.APIGatewayCustomAuthorizerResponse{PrincipalID: "u", PolicyDocument: policy("Deny", wildcard)}},
			"GET", "/v1/api-keys", "Bearer x", 403, apierr.Forbidden, true},
		{"Deny wins over a matching Allow",
			&authorizerStub{res: events.APIGatewayCustomAuthorizerResponse{PrincipalID: "u", PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
				Version: "2012-10-17",
				Statement: []events.IAMPolicyStatement{
					{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{wildcard}},
					{Action: []string{"execute-api:Invoke"}, Effect: "Deny", Resource: []string{arnPrefix + "GET/v1/api-keys"}},
				},
			}}},
			"GET", "/v1/api-keys", "Bearer x", 403, apierr.Forbidden, true},
		{"Allow of another method ARN is 403",
			&authorizerStub{res: events.APIGatewayCustomAuthorizerResponse{PrincipalID: "u", PolicyDocument: policy("Allow", arnPrefix+"GET/v1/usage")}},
			"GET", "/v1/api-keys", "Bearer x", 403, apierr.Forbidden, true},
		{"Allow of another stage is 403",
			&authorizerStub{res: events.APIGatewayCustomAuthorizerResponse{PrincipalID: "u", PolicyDocument: policy("Allow", "arn:aws:execute-api:local:000000000000:keygate/prod/*")}},
			"GET", "/v1/api-keys", "Bearer x", 403, apierr.Forbidden, true},
		{"Allow of another action is 403",
			&authorizerStub{res: events.APIGatewayCustomAuthorizerResponse{PrincipalID: "u", PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
				Version:   "2012-10-17",
				Statement: []events.IAMPolicyStatement{{Action: []string{"execute-api:ManageConnections"}, Effect: "Allow", Resource: []string{wildcard}}},
			}}},
			"GET", "/v1/api-keys", "Bearer x", 403, apierr.Forbidden, true},
		{"empty policy is 403",
			&authorizerStub{res: events.APIGatewayCustomAuthorizerResponse{PrincipalID: "u"}},
			"GET", "/v1/api-keys", "Bearer x", 403, apierr.Forbidden, true},
		{"unknown route is 404 without calling the authorizer",
			&authorizerStub{res: allowAll()}, "GET", "/v1/nothing", "Bearer x", 404, apierr.NotFound, false},
		{"unknown route without credentials is 404",
			&authorizerStub{res: allowAll()}, "GET", "/v1/nothing", "-", 404, apierr.NotFound, false},
		{"wrong method on a known path is 404",
			&authorizerStub{res: allowAll()}, "PUT", "/v1/api-keys", "Bearer x", 404, apierr.NotFound, false},
		{"path parameter route without the parameter is 404",
			&authorizerStub{res: allowAll()}, "PATCH", "/v1/api-keys/", "Bearer x", 404, apierr.NotFound, false},
		{"extra path segment is 404",
			&authorizerStub{res: allowAll()}, "PATCH", "/v1/api-keys/csk_live_a1b2c3d4/x", "Bearer x", 404, apierr.NotFound, false},
		{"handler panic is 500",
			&authorizerStub{res: allowAll()}, "GET", "/v1/boom", "Bearer x", 500, apierr.InternalError, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.auth)
			rec := h.do(tt.method, tt.target, tt.header, "")
			checkEnvelope(t, rec, tt.status, tt.code)
			if called := tt.auth.called() > 0; called != tt.authCalled {
				t.Fatalf("authorizer called = %v, want %v", called, tt.authCalled)
			}
			if tt.status != 500 && h.route.called() != 0 {
				t.Fatal("route was called")
			}
			if strings.Contains(rec.Body.String(), "connection reset") || strings.Contains(rec.Body.String(), "bug") {
				t.Fatalf("internal detail leaked to the client: %s", rec.Body)
			}
		})
	}
}

func TestGatewayAllowed(t *testing.T) {
	auth := &authorizerStub{res: events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:    "user-1",
		PolicyDocument: policy("Allow", wildcard),
		Context: map[string]any{
			"sub": "user-1", "tier": "pro", "authMethod": "key",
			"keyPrefix": "csk_live_a1b2c3d4", "dailyLimit": 1000, "flag": true,
		},
	}}
	h := newHarness(auth)
	rec := h.do("PATCH", "/v1/api-keys/csk_live_a1b2c3d4?status=all&days=7", "Bearer csk_live_x", `{"name":"CI"}`)
	if rec.Code != 200 {
		t.Fatalf("status = %d; body %s", rec.Code, rec.Body)
	}
	if h.route.called() != 1 {
		t.Fatalf("route called %d times, want 1", h.route.called())
	}
	authEv := auth.calls[0]
	ev := h.route.calls[0]

	t.Run("authorizer gets a REQUEST event with the method ARN and the header", func(t *testing.T) {
		if authEv.Type != "REQUEST" {
			t.Fatalf("Type = %q", authEv.Type)
		}
		if want := arnPrefix + "PATCH/v1/api-keys/csk_live_a1b2c3d4"; authEv.MethodArn != want {
			t.Fatalf("MethodArn = %q, want %q", authEv.MethodArn, want)
		}
		if authEv.Headers["Authorization"] != "Bearer csk_live_x" {
			t.Fatalf("Headers = %v", authEv.Headers)
		}
		if authEv.PathParameters["prefix"] != "csk_live_a1b2c3d4" || authEv.QueryStringParameters["days"] != "7" {
			t.Fatalf("PathParameters = %v, Query = %v", authEv.PathParameters, authEv.QueryStringParameters)
		}
	})
	t.Run("route gets the authorizer context as strings and the principalId", func(t *testing.T) {
		want := map[string]any{
			"principalId": "user-1", "sub": "user-1", "tier": "pro", "authMethod": "key",
			"keyPrefix": "csk_live_a1b2c3d4", "dailyLimit": "1000", "flag": "true",
		}
		if !reflect.DeepEqual(ev.RequestContext.Authorizer, want) {
			t.Fatalf("requestContext.authorizer = %#v, want %#v", ev.RequestContext.Authorizer, want)
		}
	})
	t.Run("path parameters are bound", func(t *testing.T) {
		if want := map[string]string{"prefix": "csk_live_a1b2c3d4"}; !reflect.DeepEqual(ev.PathParameters, want) {
			t.Fatalf("PathParameters = %v, want %v", ev.PathParameters, want)
		}
		if ev.Resource != "/v1/api-keys/{prefix}" || ev.RequestContext.ResourcePath != "/v1/api-keys/{prefix}" {
			t.Fatalf("Resource = %q, ResourcePath = %q", ev.Resource, ev.RequestContext.ResourcePath)
		}
	})
	t.Run("query parameters are passed", func(t *testing.T) {
		if want := map[string]string{"status": "all", "days": "7"}; !reflect.DeepEqual(ev.QueryStringParameters, want) {
			t.Fatalf("QueryStringParameters = %v, want %v", ev.QueryStringParameters, want)
		}
	})
	t.Run("method, path, body and stage are passed", func(t *testing.T) {
		if ev.HTTPMethod != "PATCH" || ev.Path != "/v1/api-keys/csk_live_a1b2c3d4" || ev.Body != `{"name":"CI"}` || ev.IsBase64Encoded {
			t.Fatalf("event = %s %s body %q base64 %v", ev.HTTPMethod, ev.Path, ev.Body, ev.IsBase64Encoded)
		}
		if ev.RequestContext.Stage != "local" || ev.RequestContext.RequestID == "" {
			t.Fatalf("stage %q, request id %q", ev.RequestContext.Stage, ev.RequestContext.RequestID)
		}
	})
	t.Run("request without a query string has no query parameters", func(t *testing.T) {
		h.do("GET", "/v1/api-keys", "Bearer x", "")
		last := h.route.calls[len(h.route.calls)-1]
		if last.QueryStringParameters != nil || last.PathParameters != nil {
			t.Fatalf("Query = %v, PathParameters = %v", last.QueryStringParameters, last.PathParameters)
		}
	})
	t.Run("Allow of exactly the method ARN lets the request through", func(t *testing.T) {
		exact := &authorizerStub{res: events.APIGatewayCustomAuthorizerResponse{
			PrincipalID: "u", PolicyDocument: policy("Allow", arnPrefix+"GET/v1/api-keys"),
		}}
		h := newHarness(exact)
		if rec := h.do("GET", "/v1/api-keys", "Bearer x", ""); rec.Code != 200 {
			t.Fatalf("status = %d; body %s", rec.Code, rec.Body)
		}
	})
}

func TestGatewayResponsePassthrough(t *testing.T) {
	tests := []struct {
		name   string
		resp   events.APIGatewayProxyResponse
		status int
		header map[string][]string
		body   string
	}{
		{
			name: "status, headers (names in the route's case) and body of the route are passed through",
			resp: events.APIGatewayProxyResponse{
				StatusCode: 429,
				Headers: map[string]string{
					"Content-Type": "application/json", "Retry-After": "3600", "X-RateLimit-Limit": "250",
				},
				MultiValueHeaders: map[string][]string{"Vary": {"Origin", "Accept"}},
				Body:              `{"success":false,"error":{"code":"RateLimitExceeded","message":"m"}}`,
			},
			status: 429,
			header: map[string][]string{
				"Content-Type": {"application/json"}, "Retry-After": {"3600"}, "X-RateLimit-Limit": {"250"},
				"Vary": {"Origin", "Accept"},
			},
			body: `{"success":false,"error":{"code":"RateLimitExceeded","message":"m"}}`,
		},
		{
			name: "base64 body is decoded",
			resp: events.APIGatewayProxyResponse{
				StatusCode:      201,
				Headers:         map[string]string{"Content-Type": "application/octet-stream"},
				Body:            base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff}),
				IsBase64Encoded: true,
			},
			status: 201,
			header: map[string][]string{"Content-Type": {"application/octet-stream"}},
			body:   string([]byte{0, 1, 2, 0xff}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(&authorizerStub{res: allowAll()})
			h.route.resp = tt.resp
			rec := h.do("GET", "/v1/api-keys", "Bearer x", "")
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			for k, want := range tt.header {
				// Indexed, not Values(k), which would canonicalise the name.
				if got := rec.Header()[k]; !slices.Equal(got, want) {
					t.Fatalf("header %s = %q, want %q", k, got, want)
				}
			}
			if len(rec.Header()["x-amzn-RequestId"]) == 0 {
				t.Fatal("x-amzn-RequestId missing")
			}
			if rec.Body.String() != tt.body {
				t.Fatalf("body = %q, want %q", rec.Body, tt.body)
			}
		})
	}
	t.Run("undecodable base64 body is a 500 envelope", func(t *testing.T) {
		h := newHarness(&authorizerStub{res: allowAll()})
		h.route.resp = events.APIGatewayProxyResponse{StatusCode: 200, Body: "%%%", IsBase64Encoded: true}
		checkEnvelope(t, h.do("GET", "/v1/api-keys", "Bearer x", ""), 500, apierr.InternalError)
	})
}

func TestGatewayRequestBody(t *testing.T) {
	h := newHarness(&authorizerStub{res: allowAll()})
	t.Run("binary request body reaches the route base64-encoded", func(t *testing.T) {
		h.do("POST", "/v1/api-keys", "Bearer x", string([]byte{0xff, 0xfe}))
		ev := h.route.calls[len(h.route.calls)-1]
		if !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe}) {
			t.Fatalf("Body = %q, IsBase64Encoded = %v", ev.Body, ev.IsBase64Encoded)
		}
	})
}

func TestGatewayBodyOverAPIGatewaysLimit(t *testing.T) {
	h := newHarness(&authorizerStub{res: allowAll()})
	rec := h.do("POST", "/v1/api-keys", "Bearer x", strings.Repeat("x", maxPayload+1))
	// As API Gateway's REQUEST_TOO_LARGE, rendered by infra's gateway response.
	checkEnvelope(t, rec, 413, apierr.PayloadTooLarge)
	if h.auth.called() != 0 || h.route.called() != 0 {
		t.Fatalf("authorizer called %d times, route %d: a body over the limit invokes nothing", h.auth.called(), h.route.called())
	}
	if rec := h.do("POST", "/v1/api-keys", "Bearer x", strings.Repeat("x", maxPayload)); rec.Code != 200 {
		t.Fatalf("a body of exactly 10 MB: %d %s", rec.Code, rec.Body)
	}
}

// TestInvocationsNameTheirFunction: each invocation's context names the
// function as Lambda's does (the tests attribute AWS calls by it).
func TestInvocationsNameTheirFunction(t *testing.T) {
	var authArn, routeArn string
	gw := &Gateway{
		Authorizer: func(ctx context.Context, _ events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			lc, _ := lambdacontext.FromContext(ctx)
			authArn = lc.InvokedFunctionArn
			return allowAll(), nil
		},
		Routes: []Route{{Method: "GET", Path: "/v1/api-keys", Function: "listkeys", Lambda: func(ctx context.Context, _ events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			lc, _ := lambdacontext.FromContext(ctx)
			routeArn = lc.InvokedFunctionArn
			return events.APIGatewayProxyResponse{StatusCode: 200, Body: "{}"}, nil
		}}},
		Log: slog.New(slog.DiscardHandler),
	}
	req := httptest.NewRequest("GET", "/v1/api-keys", nil)
	req.Header.Set("Authorization", "Bearer x")
	gw.ServeHTTP(httptest.NewRecorder(), req)
	if authArn != "arn:aws:lambda:local:000000000000:function:authorizer" || routeArn != "arn:aws:lambda:local:000000000000:function:listkeys" {
		t.Fatalf("invoked function ARNs %q and %q", authArn, routeArn)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"ab", "abc", false},
		{"*", "", true},
		{"*", "anything/at/all", true},
		{"a*", "a", true},
		{"a*", "abc", true},
		{"a*", "ba", false},
		{"*c", "abc", true},
		{"*c", "abd", false},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*c", "abcd", false},
		{"a*b*c", "a-b-b-c", true},
		{"a*b*c", "a-c-b", false},
		{"**", "x", true},
		{"?", "a", true},
		{"?", "", false},
		{"?", "ab", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*?", "", false},
		{"*?", "a", true},
		{wildcard, arnPrefix + "GET/v1/api-keys", true},
		{wildcard, "arn:aws:execute-api:local:000000000000:keygate/prod/GET/v1/api-keys", false},
		{arnPrefix + "*/v1/api-keys/*", arnPrefix + "DELETE/v1/api-keys/csk_live_a1b2c3d4", true},
		{arnPrefix + "GET/*", arnPrefix + "POST/v1/api-keys", false},
		{arnPrefix + "GET/v1/api-keys", arnPrefix + "GET/v1/api-keys/", false},
	}
	for _, tt := range tests {
		name := "pattern " + tt.pattern + " vs " + tt.s
		if tt.want {
			name += " matches"
		} else {
			name += " does not match"
		}
		t.Run(name, func(t *testing.T) {
			if got := glob(tt.pattern, tt.s); got != tt.want {
				t.Fatalf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

func TestGatewayLogsNoCredential(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	h := newHarness(&authorizerStub{err: errors.New("store down")})
	h.gw.Log = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	const secret = "csk_live_a1b2c3d4e5f67890abcdef1234567890"
	checkEnvelope(t, h.do("GET", "/v1/api-keys", "Bearer "+secret, ""), 503, apierr.ServiceUnavailable)
	mu.Lock()
	defer mu.Unlock()
	if buf.Len() == 0 {
		t.Fatal("the authorizer failure was not logged")
	}
	if strings.Contains(buf.String(), secret) {
		t.Fatalf("log carries the credential: %s", buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

var _ http.Handler = (*Gateway)(nil)

func TestAuthorizerCache(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	h := newHarness(&authorizerStub{res: allowAll()})
	h.gw.CacheTTL = 300 * time.Second
	h.gw.Now = func() time.Time { return now }

	t.Run("an allow is reused for the same Authorization on every route", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{{"GET", "/v1/api-keys"}, {"POST", "/v1/api-keys"}, {"DELETE", "/v1/api-keys/csk_live_00000000"}} {
			if rec := h.do(r.method, r.path, "Bearer a", ""); rec.Code != 200 {
				t.Fatalf("%s %s: %d", r.method, r.path, rec.Code)
			}
		}
		if n := h.auth.called(); n != 1 {
			t.Fatalf("authorizer called %d times, want once", n)
		}
	})
	t.Run("another Authorization value is another cache entry", func(t *testing.T) {
		h.do("GET", "/v1/api-keys", "bearer a", "")
		if n := h.auth.called(); n != 2 {
			t.Fatalf("authorizer called %d times, want twice", n)
		}
	})
	t.Run("the entry ends at the TTL", func(t *testing.T) {
		now = now.Add(299 * time.Second)
		h.do("GET", "/v1/api-keys", "Bearer a", "")
		if n := h.auth.called(); n != 2 {
			t.Fatalf("within the TTL: %d calls", n)
		}
		now = now.Add(time.Second)
		h.do("GET", "/v1/api-keys", "Bearer a", "")
		if n := h.auth.called(); n != 3 {
			t.Fatalf("at the TTL: %d calls, want a fresh authorization", n)
		}
	})
	t.Run("errors are not cached", func(t *testing.T) {
		e := newHarness(&authorizerStub{err: errors.New("Unauthorized")})
		e.gw.CacheTTL = time.Hour
		for range 2 {
			checkEnvelope(t, e.do("GET", "/v1/api-keys", "Bearer z", ""), 401, apierr.Unauthorized)
		}
		if n := e.auth.called(); n != 2 {
			t.Fatalf("authorizer called %d times", n)
		}
	})
	t.Run("flush empties it", func(t *testing.T) {
		h.gw.FlushCache()
		h.do("GET", "/v1/api-keys", "Bearer a", "")
		if n := h.auth.called(); n != 4 {
			t.Fatalf("after a flush: %d calls", n)
		}
	})
}

func TestPublicRoute(t *testing.T) {
	h := newHarness(&authorizerStub{err: errors.New("Unauthorized")})
	h.gw.Routes = append(h.gw.Routes, Route{Method: "POST", Path: "/v1/secret-scanning/github", Lambda: h.route.lambda, Public: true})
	rec := h.do("POST", "/v1/secret-scanning/github", "-", "[]")
	if rec.Code != 200 || h.auth.called() != 0 || h.route.called() != 1 {
		t.Fatalf("status %d, authorizer %d, route %d", rec.Code, h.auth.called(), h.route.called())
	}
	if a := h.route.calls[0].RequestContext.Authorizer; a != nil {
		t.Fatalf("a public route got an authorizer context %v", a)
	}
}

func TestNoRouteMessage(t *testing.T) {
	gw := &Gateway{Log: slog.New(slog.DiscardHandler)}
	for _, rt := range handlers.Routes {
		gw.Routes = append(gw.Routes, Route{Method: rt.Method, Path: rt.Path, Public: rt.Public})
	}
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/nothing", nil))
	checkEnvelope(t, rec, 404, apierr.NotFound)
	var body struct {
		Error struct{ Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	// The text infra/stack/api.go renders for the deployed API's routes.
	const want = "No such route. Routes: POST|GET /v1/api-keys, PATCH|DELETE /v1/api-keys/{prefix}, POST /v1/api-keys/{prefix}/rotate, GET /v1/usage, GET /v1/scopes, GET /v1/audit-log, GET|POST /api/v1/workspaces/{id}/api-keys, DELETE /api/v1/workspaces/{id}/api-keys/{keyId}, POST /api/v1/workspaces/{id}/api-keys/{keyId}/rotate, GET /api/v1/workspaces/{id}/audit-log, POST /v1/secret-scanning/github."
	if body.Error.Message != want {
		t.Fatalf("404 message\n got %q\nwant %q", body.Error.Message, want)
	}
}

// TestInvocationsHaveTheDeployedTimeouts: the authorizer and the route
// Lambda each get a context deadline of the deployed function's timeout (5 s
// and 10 s), as Lambda gives one; local mode once gave none, so a stalled
// store held a request for as long as its calls added up to.
func TestInvocationsHaveTheDeployedTimeouts(t *testing.T) {
	var authDeadline, routeDeadline time.Time
	var authOK, routeOK bool
	gw := &Gateway{
		Authorizer: func(ctx context.Context, _ events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			authDeadline, authOK = ctx.Deadline()
			return allowAll(), nil
		},
		Routes: []Route{{Method: "GET", Path: "/v1/api-keys", Lambda: func(ctx context.Context, _ events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			routeDeadline, routeOK = ctx.Deadline()
			return events.APIGatewayProxyResponse{StatusCode: 200, Body: "{}"}, nil
		}}},
		Log: slog.New(slog.DiscardHandler),
	}
	start := time.Now()
	req := httptest.NewRequest("GET", "/v1/api-keys", nil)
	req.Header.Set("Authorization", "Bearer x")
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	near := func(t *testing.T, what string, got time.Time, ok bool, want time.Duration) {
		t.Helper()
		if !ok {
			t.Fatalf("the %s was invoked without a deadline", what)
		}
		if d := got.Sub(start); d < want-time.Second || d > want+time.Second {
			t.Fatalf("the %s's deadline is %v away, want %v", what, d, want)
		}
	}
	near(t, "authorizer", authDeadline, authOK, 5*time.Second)
	near(t, "route Lambda", routeDeadline, routeOK, 10*time.Second)
}
