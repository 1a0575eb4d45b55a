package lambdahttp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/principal"
)

// fixedMeter is a stand-in for the meter's answer, not for DynamoDB.
type fixedMeter struct {
	q   metering.Quota
	err error
}

func (m fixedMeter) Count(context.Context, principal.Principal, route.Route, netip.Addr) (metering.Quota, error) {
	return m.q, m.err
}

var (
	now       = time.Date(2026, 11, 25, 23, 59, 0, 0, time.UTC)
	quota     = metering.Quota{Limit: 10, Used: 4, Remaining: 6, Reset: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), At: now}
	keyCtx    = principal.Principal{Sub: "u", Tier: principal.Pro, Method: principal.ViaKey, KeyPrefix: "csk_live_12345678", Budget: "b", DailyLimit: 10}.Context()
	jwtCtx    = principal.Principal{Sub: "u", Tier: principal.Pro, Method: principal.ViaJWT}.Context()
	okHandler = func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		return lambdahttp.Response{Status: 200, Data: map[string]string{"body": string(r.Body)}}, nil
	}
)

func opts(m lambdahttp.Meter) lambdahttp.Options {
	return lambdahttp.Options{Meter: m, Log: testLog, Clock: clock.NewFixed(now)}
}

var testLog *slog.Logger

func event(auth map[string]any, body string) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{HTTPMethod: "GET", Resource: "/v1/x", Body: body,
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "req-1", Authorizer: auth}}
}

func envelopeCode(t *testing.T, body string) apierr.Code {
	t.Helper()
	var e apierr.Envelope
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Success || e.Error.Message == "" {
		t.Fatalf("not an error envelope: %s", body)
	}
	return e.Error.Code
}

func TestAdapter(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	testLog = log
	ctx := context.Background()

	t.Run("a key request is metered and carries the headers", func(t *testing.T) {
		resp, _ := lambdahttp.Adapter(okHandler, opts(fixedMeter{q: quota}))(ctx, event(keyCtx, "hi"))
		if resp.StatusCode != 200 || resp.Headers["X-RateLimit-Remaining"] != "6" || resp.Headers["X-RateLimit-Reset"] != "1795651200" {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Headers, resp.Body)
		}
		if resp.Body != `{"success":true,"data":{"body":"hi"}}`+"\n" || resp.Headers["Content-Type"] != "application/json" {
			t.Fatalf("body %s", resp.Body)
		}
	})
	t.Run("over the limit the handler never runs", func(t *testing.T) {
		ran := false
		h := func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
			ran = true
			return okHandler(ctx, r)
		}
		q := quota
		q.Remaining = 0
		resp, _ := lambdahttp.Adapter(h, opts(fixedMeter{q: q, err: apierr.New(apierr.RateLimitExceeded, "spent")}))(ctx, event(keyCtx, ""))
		if ran || resp.StatusCode != 429 || resp.Headers["Retry-After"] != "60" || envelopeCode(t, resp.Body) != apierr.RateLimitExceeded {
			t.Fatalf("ran=%v %d %v", ran, resp.StatusCode, resp.Headers)
		}
	})
	t.Run("a JWT request is not metered", func(t *testing.T) {
		resp, _ := lambdahttp.Adapter(okHandler, opts(fixedMeter{err: apierr.New(apierr.InternalError, "must not be called")}))(ctx, event(jwtCtx, ""))
		if resp.StatusCode != 200 || resp.Headers["X-RateLimit-Limit"] != "" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
		}
	})
	t.Run("a panic is a 500 envelope, with the rate-limit headers", func(t *testing.T) {
		h := func(context.Context, *lambdahttp.Request) (lambdahttp.Response, error) { panic("boom") }
		resp, err := lambdahttp.Adapter(h, opts(fixedMeter{q: quota}))(ctx, event(keyCtx, ""))
		if err != nil || resp.StatusCode != 500 || envelopeCode(t, resp.Body) != apierr.InternalError || resp.Headers["X-RateLimit-Limit"] != "10" {
			t.Fatalf("%v %d %v %s", err, resp.StatusCode, resp.Headers, resp.Body)
		}
		if strings.Contains(resp.Body, "boom") || !strings.Contains(logs.String(), "boom") {
			t.Fatal("panic detail must go to the log only")
		}
	})
	t.Run("no authorizer context is a 500, not a pass", func(t *testing.T) {
		resp, _ := lambdahttp.Adapter(okHandler, opts(fixedMeter{q: quota}))(ctx, event(nil, ""))
		if resp.StatusCode != 500 {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("a base64 body is decoded; a bad one is 400", func(t *testing.T) {
		ev := event(jwtCtx, base64.StdEncoding.EncodeToString([]byte("raw")))
		ev.IsBase64Encoded = true
		resp, _ := lambdahttp.Adapter(okHandler, opts(nil))(ctx, ev)
		if !strings.Contains(resp.Body, `"raw"`) {
			t.Fatalf("%s", resp.Body)
		}
		ev.Body = "!!!"
		resp, _ = lambdahttp.Adapter(okHandler, opts(nil))(ctx, ev)
		if resp.StatusCode != 400 {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("the handler's context ends the margin before the Lambda's deadline", func(t *testing.T) {
		dl := time.Now().Add(time.Minute)
		lctx, cancel := context.WithDeadline(ctx, dl)
		defer cancel()
		var got time.Time
		h := func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
			got, _ = ctx.Deadline()
			return okHandler(ctx, r)
		}
		lambdahttp.Adapter(h, opts(nil))(lctx, event(jwtCtx, ""))
		if !got.Equal(dl.Add(-lambdahttp.DeadlineMargin)) {
			t.Fatalf("handler deadline %v, want %v", got, dl.Add(-lambdahttp.DeadlineMargin))
		}
	})
	t.Run("a body over 16 KiB is 400", func(t *testing.T) {
		resp, _ := lambdahttp.Adapter(okHandler, opts(nil))(ctx, event(jwtCtx, strings.Repeat("x", 16<<10+1)))
		if resp.StatusCode != 400 || envelopeCode(t, resp.Body) != apierr.BadRequest {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
}

func TestDecodeJSON(t *testing.T) {
	type in struct {
		Name  *string `json:"name"`
		Limit *int    `json:"dailyLimit"`
	}
	cases := []struct{ body, want string }{
		{`{"name":"a","dailyLimit":3}`, ""},
		{``, "empty"},
		{`{"name":`, "not valid JSON"},
		{`{"name":"a"}x`, "single JSON object"},
		{`{"nope":1}`, "'nope'"},
		{`{"dailyLimit":"3"}`, "'dailyLimit' must be an integer"},
		{`{"dailyLimit":1e99}`, "'dailyLimit' must be an integer"},
		{`{"name":["a"]}`, "'name' must be a string"},
		{`"str"`, "JSON object"},
		{`null`, "JSON object"},
		{`{"NAME":"a"}`, "'NAME' is not a field"},
		{`{"DailyLimit":3}`, "'DailyLimit' is not a field"},
		{`{"name":"a","name":"b"}`, "'name' appears more than once"},
		{`{"name":"a","dailyLimit":1,"dailyLimit":2}`, "'dailyLimit' appears more than once"},
		{`{"name":"a","x":{"k":1,"k":2}}`, "'k' appears more than once"},
		{`{"name":"a","na\u006de":"b"}`, "'name' appears more than once"},
		{`{"name":"[\"name\"]"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.body, func(t *testing.T) {
			var v in
			err := lambdahttp.DecodeJSON([]byte(tc.body), &v)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || apierr.From(err).Code != apierr.BadRequest {
				t.Fatalf("got %v, want BadRequest mentioning %q", err, tc.want)
			}
		})
	}
}

// TestDecodeJSONRefusesInvalidUTF8 : bytes that are not UTF-8, and \u escapes
// of unpaired surrogates, are 400 naming the field, never replaced with
// U+FFFD (which made "ab\xffcd" a key named "ab\uFFFDcd").
func TestDecodeJSONRefusesInvalidUTF8(t *testing.T) {
	type in struct {
		Name   *string  `json:"name"`
		Limit  *int     `json:"dailyLimit"`
		Scopes []string `json:"scopes"`
	}
	cases := []struct{ name, body, want string }{
		{"a raw 0xff byte in a value", "{\"name\":\"ab\xffcd\"}", "'name'"},
		{"a truncated sequence in a value", "{\"name\":\"ab\xe2\x9c\"}", "'name'"},
		{"an overlong encoding", "{\"name\":\"\xc0\xaf\"}", "'name'"},
		{"an encoded surrogate", "{\"name\":\"\xed\xa0\x80\"}", "'name'"},
		{"a lone high surrogate escape", `{"name":"\ud800"}`, "'name'"},
		{"a lone low surrogate escape", `{"name":"a\udc00b"}`, "'name'"},
		{"a high surrogate before a plain escape", `{"name":"\ud800\u0041"}`, "'name'"},
		{"a bad string inside an array names the member", `{"name":"a","scopes":["ok","\udfff"]}`, "'scopes'"},
		{"a bad string after a good member names its own", "{\"dailyLimit\":3,\"name\":\"\xfe\"}", "'name'"},
		{"a bad member name", "{\"na\xffme\":\"a\"}", "field name"},
		{"a bad string in an unknown member", "{\"extra\":\"\xff\"}", "'extra'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v in
			err := lambdahttp.DecodeJSON([]byte(tc.body), &v)
			if err == nil || apierr.From(err).Code != apierr.BadRequest || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "UTF-8") {
				t.Fatalf("got %v (name %v), want BadRequest about UTF-8 mentioning %q", err, v.Name, tc.want)
			}
		})
	}
	for _, body := range []string{`{"name":"caf\u00e9 \ud83d\ude00"}`, `{"name":"café 😀"}`, `{"name":"\ufffd"}`} {
		t.Run("valid: "+body, func(t *testing.T) {
			var v in
			if err := lambdahttp.DecodeJSON([]byte(body), &v); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestNullable(t *testing.T) {
	type in struct {
		ExpiresAt lambdahttp.Nullable[string] `json:"expiresAt"`
	}
	tests := []struct {
		name, body     string
		set, null      bool
		value, errPart string
	}{
		{"absent is not set", `{}`, false, false, "", ""},
		{"null is set and null", `{"expiresAt":null}`, true, true, "", ""},
		{"a value is set", `{"expiresAt":"2027-01-01T00:00:00Z"}`, true, false, "2027-01-01T00:00:00Z", ""},
		{"a wrong type names the field", `{"expiresAt":5}`, false, false, "", "'expiresAt' must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v in
			err := lambdahttp.DecodeJSON([]byte(tt.body), &v)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("got %v, want %q", err, tt.errPart)
				}
				return
			}
			if err != nil || v.ExpiresAt.Set != tt.set || v.ExpiresAt.Null != tt.null || v.ExpiresAt.Value != tt.value {
				t.Fatalf("%v %+v", err, v.ExpiresAt)
			}
			if p := v.ExpiresAt.Ptr(); (p != nil) != (tt.set && !tt.null) {
				t.Fatalf("Ptr() = %v", p)
			}
		})
	}
}

func TestAdapterShapes(t *testing.T) {
	ctx := context.Background()
	t.Run("a bare response has no envelope", func(t *testing.T) {
		h := func(context.Context, *lambdahttp.Request) (lambdahttp.Response, error) {
			return lambdahttp.Response{Status: 200, Data: map[string]string{"status": "revoked"}, Bare: true}, nil
		}
		resp, _ := lambdahttp.Adapter(h, opts(nil))(ctx, event(jwtCtx, ""))
		if resp.Body != `{"status":"revoked"}`+"\n" {
			t.Fatalf("%s", resp.Body)
		}
	})
	t.Run("a public route runs without a principal and is not metered", func(t *testing.T) {
		o := opts(fixedMeter{err: apierr.New(apierr.InternalError, "must not be called")})
		o.Route.Public = true
		resp, _ := lambdahttp.Adapter(okHandler, o)(ctx, event(nil, "x"))
		if resp.StatusCode != 200 || resp.Headers["X-RateLimit-Limit"] != "" {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Headers, resp.Body)
		}
	})
	t.Run("a JWT principal past its token's expiry is 401 even if a cache let it through", func(t *testing.T) {
		p := principal.Principal{Sub: "u", Tier: principal.Pro, Method: principal.ViaJWT, Exp: now.Add(-lambdahttp.TokenLeeway - time.Second)}
		resp, _ := lambdahttp.Adapter(okHandler, opts(nil))(ctx, event(p.Context(), ""))
		if resp.StatusCode != 401 || envelopeCode(t, resp.Body) != apierr.Unauthorized {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		p.Exp = now.Add(-lambdahttp.TokenLeeway + time.Second)
		resp, _ = lambdahttp.Adapter(okHandler, opts(nil))(ctx, event(p.Context(), ""))
		if resp.StatusCode != 200 {
			t.Fatalf("within the leeway: %d %s", resp.StatusCode, resp.Body)
		}
	})
	t.Run("headers are read case-insensitively and absence is told from empty", func(t *testing.T) {
		r := &lambdahttp.Request{Headers: map[string]string{"x-workspace-id": "w", "Empty": ""}}
		if v, ok := r.Header("X-Workspace-ID"); !ok || v != "w" {
			t.Fatalf("%q %v", v, ok)
		}
		if v, ok := r.Header("empty"); !ok || v != "" {
			t.Fatalf("%q %v", v, ok)
		}
		if _, ok := r.Header("Missing"); ok {
			t.Fatal("a missing header was found")
		}
		if allocs := testing.AllocsPerRun(100, func() { lambdahttp.Header(r.Headers, "X-Workspace-ID") }); allocs != 0 {
			t.Fatalf("a case-insensitive lookup allocated %v times", allocs)
		}
	})
	t.Run("a 503 from the meter carries the limit the authorizer saw", func(t *testing.T) {
		resp, _ := lambdahttp.Adapter(okHandler, opts(fixedMeter{err: apierr.Unavailable(nil)}))(ctx, event(keyCtx, ""))
		if resp.StatusCode != 503 || resp.Headers["X-RateLimit-Limit"] != "10" || resp.Headers["X-RateLimit-Remaining"] != "0" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
		}
	})
	t.Run("a 401 from the meter (revoked key) carries no quota", func(t *testing.T) {
		resp, _ := lambdahttp.Adapter(okHandler, opts(fixedMeter{err: apierr.New(apierr.Unauthorized, "revoked")}))(ctx, event(keyCtx, ""))
		if resp.StatusCode != 401 || resp.Headers["X-RateLimit-Limit"] != "" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
		}
	})
}
