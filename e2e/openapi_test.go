package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keygate/keygate/docs"
	"github.com/keygate/keygate/internal/apispec"
	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
)

// TestLocalModeServesOpenAPI: GET /openapi.json needs no credential and is
// docs/openapi.yaml as JSON; other methods there are the gateway's 404.
func TestLocalModeServesOpenAPI(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{})
	resp, err := http.Get(s.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	want, err := docs.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != string(want) {
		t.Fatal("GET /openapi.json is not docs/openapi.yaml as JSON")
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("served document does not validate: %v", err)
	}

	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "reader", Tier: "pro"})
	testenv.Must(t, c.Do("POST", "/openapi.json", testenv.Bearer(tok), "{}"), 404, "NotFound")
}

// recorder is a testing.TB that keeps what Errorf reports instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Helper() {}

// TestClientValidatesEveryResponse shows the wiring: testenv's client checks
// each response against docs/openapi.yaml and fails the test on a mismatch,
// here answers that look right but are not what the document says.
func TestClientValidatesEveryResponse(t *testing.T) {
	cases := []struct {
		name, method, path, auth string
		status                   int
		body                     string
		wantErr                  string // "" is a response that matches
	}{
		{"a matching revoke passes", "DELETE", "/v1/api-keys/csk_live_a1b2c3d4", "Bearer t", 200,
			`{"success":true,"data":{"message":"API key revoked"}}`, ""},
		{"a misspelled field fails", "DELETE", "/v1/api-keys/csk_live_a1b2c3d4", "Bearer t", 200,
			`{"success":true,"data":{"mesage":"API key revoked"}}`, "'mesage' not allowed"},
		{"an undocumented status fails", "DELETE", "/v1/api-keys/csk_live_a1b2c3d4", "Bearer t", 409,
			`{"success":false,"error":{"code":"Conflict","message":"x"}}`, "status is not supported"},
		{"a usage answer to a key without rate-limit headers fails", "GET", "/v1/usage",
			"Bearer csk_live_a1b2c3d4e5f67890abcdef1234567890", 200,
			`{"success":true,"data":{"date":"2026-11-25","resetsAt":"2026-11-26T00:00:00Z","keys":[]}}`, "lacks X-RateLimit-Limit"},
		{"an answer on an unlisted route fails", "GET", "/v1/keys", "Bearer t", 200, `{"success":true,"data":{}}`, "must be 404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			rec := &recorder{TB: t}
			c := &testenv.Client{T: rec, Base: srv.URL, HTTP: srv.Client()}
			c.Do(tc.method, tc.path, tc.auth, nil)
			got := strings.Join(rec.errors, "\n")
			switch {
			case tc.wantErr == "" && got != "":
				t.Fatalf("a matching response was reported:\n%s", got)
			case tc.wantErr != "" && !strings.Contains(got, tc.wantErr):
				t.Fatalf("want a reported mismatch mentioning %q, got:\n%s", tc.wantErr, got)
			}
			if got != "" {
				t.Logf("reported as it should be:\n%s", got)
			}
		})
	}
}

// TestCORSAnswersMatchTheDocument sends what a browser of an allowed origin
// sends (preflights, then requests with Origin) and checks each answer, the
// gateway's own errors included, against docs/openapi.yaml and its CORS rule.
func TestCORSAnswersMatchTheDocument(t *testing.T) {
	const origin = "http://console.test"
	s := testenv.Stack(t, testenv.Options{Env: map[string]string{"KEYGATE_ALLOWED_ORIGINS": origin}})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "browser", Tier: "team", TeamID: "ws1"})
	key, prefix := c.CreateKey(tok, map[string]any{"name": "web"})

	for _, p := range []struct{ path, method string }{
		{"/v1/api-keys", "POST"},
		{"/v1/api-keys/" + prefix, "PATCH"},
		{"/v1/api-keys/" + prefix + "/rotate", "POST"},
		{"/v1/usage", "GET"},
		{"/api/v1/workspaces/ws1/api-keys", "POST"},
		{"/api/v1/workspaces/ws1/api-keys/550e8400-e29b-41d4-a716-446655440000", "DELETE"},
		{"/api/v1/workspaces/ws1/api-keys/550e8400-e29b-41d4-a716-446655440000/rotate", "POST"},
		{"/v1/secret-scanning/github", "POST"},
	} {
		for _, o := range []string{origin, "https://elsewhere.test"} {
			req, _ := http.NewRequest("OPTIONS", s.URL+p.path, nil)
			req.Header.Set("Origin", o)
			req.Header.Set("Access-Control-Request-Method", p.method)
			req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			apispec.Check(t, "OPTIONS", p.path, req.Header, resp.StatusCode, resp.Header, body)
			if allowed := resp.Header.Get("Access-Control-Allow-Origin") != ""; allowed != (o == origin) {
				t.Errorf("preflight of %s from %s: Access-Control-Allow-Origin %q", p.path, o, resp.Header.Get("Access-Control-Allow-Origin"))
			}
		}
	}

	withOrigin := func(auth string) map[string]string {
		h := map[string]string{"Origin": origin}
		if auth != "" {
			h["Authorization"] = auth
		}
		return h
	}
	for _, r := range []struct {
		method, path, auth string
		status             int
	}{
		{"GET", "/v1/usage", testenv.Bearer(key), 200},
		{"GET", "/v1/api-keys", testenv.Bearer(tok), 200},
		{"GET", "/v1/api-keys", testenv.Bearer(key), 403},
		{"GET", "/v1/api-keys", "", 401},
		{"GET", "/v1/usage", "Bearer csk_live_00000000000000000000000000000000", 401},
		{"GET", "/api/v1/workspaces/ws1/api-keys", testenv.Bearer(tok), 200},
		{"GET", "/v1/nothing", testenv.Bearer(tok), 404},
	} {
		got := c.DoWith(r.method, r.path, withOrigin(r.auth), nil)
		if got.Status != r.status {
			t.Errorf("%s %s: %d, want %d: %s", r.method, r.path, got.Status, r.status, got.Body)
		}
		if got.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("%s %s (%d) lacks Access-Control-Allow-Origin", r.method, r.path, got.Status)
		}
	}
}
