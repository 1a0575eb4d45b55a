package webapp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConsoleHandler(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"index.html": "<!doctype html><p>console</p>", "app-ABC.js": "console.log(1)"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := ConsoleConfig{APIURL: "http://127.0.0.1:8080", Region: "local", UserPoolID: "local_abc", ClientID: "c1",
		DefaultDailyLimit: 400, MaxKeyLifetimeDays: 90,
		CognitoEndpoint: "http://127.0.0.1:9229", AuthFlow: "USER_PASSWORD_AUTH", APIToken: "id"}
	h := ConsoleHandler(dir, cfg, cfg.APIURL, cfg.CognitoEndpoint)
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	tests := []struct {
		name, path, want, cache string
		status                  int
	}{
		{"config.json is the runtime configuration", "/config.json", `"userPoolId": "local_abc"`, "no-store", 200},
		{"config.json carries the default daily limit as a number", "/config.json", `"defaultDailyLimit": 400,`, "no-store", 200},
		{"config.json carries the longest key lifetime as a number", "/config.json", `"maxKeyLifetimeDays": 90,`, "no-store", 200},
		{"the app's page", "/", "<p>console</p>", "no-store", 200},
		{"a deep link gets the app's page", "/keys/anything", "<p>console</p>", "no-store", 200},
		{"hashed bundles are immutable", "/app-ABC.js", "console.log(1)", "public, max-age=31536000, immutable", 200},
		{"no file, no listing", "/nothing.js", "404", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(tt.path)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) || rec.Header().Get("Cache-Control") != tt.cache {
				t.Fatalf("%d %q %q", rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
			}
			csp := rec.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:8080 http://127.0.0.1:9229;") || !strings.Contains(csp, "script-src 'self';") ||
				!strings.Contains(csp, "frame-ancestors 'none'") || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("security headers: %v", rec.Header())
			}
		})
	}
	var back ConsoleConfig
	if err := json.Unmarshal(get("/config.json").Body.Bytes(), &back); err != nil || back != cfg {
		t.Errorf("config.json round trip: %v %+v", err, back)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/config.json", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

func TestParseIssuer(t *testing.T) {
	tests := []struct {
		iss, region, pool string
		ok                bool
	}{
		{"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123", "eu-west-1", "eu-west-1_AbC123", true},
		{"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x/", "us-east-1", "us-east-1_x", true},
		{"http://127.0.0.1:9229/local_x", "", "", false},
		{"https://cognito-idp.eu-west-1.amazonaws.com/", "", "", false},
	}
	for _, tt := range tests {
		r, p, ok := parseIssuer(tt.iss)
		if r != tt.region || p != tt.pool || ok != tt.ok {
			t.Errorf("parseIssuer(%q) = %q %q %v", tt.iss, r, p, ok)
		}
	}
}
