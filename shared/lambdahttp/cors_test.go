package lambdahttp_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/lambdahttp"
)

const consoleOrigin = "https://console.example.com"

func TestWithCORS(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cors := lambdahttp.NewCORS([]string{consoleOrigin, "http://127.0.0.1:8082"})
	spent := quota
	spent.Remaining = 0
	tests := []struct {
		name       string
		meter      fixedMeter
		auth       map[string]any
		headers    map[string]string
		status     int
		wantOrigin string // "" = no Access-Control-Allow-Origin
		wantVary   bool
	}{
		{"allowed origin on a success", fixedMeter{q: quota}, keyCtx, map[string]string{"Origin": consoleOrigin}, 200, consoleOrigin, true},
		{"origin header in lower case (HTTP/2 clients)", fixedMeter{q: quota}, keyCtx, map[string]string{"origin": "http://127.0.0.1:8082"}, 200, "http://127.0.0.1:8082", true},
		{"allowed origin on a 429", fixedMeter{q: spent, err: apierr.New(apierr.RateLimitExceeded, "spent")}, keyCtx, map[string]string{"Origin": consoleOrigin}, 429, consoleOrigin, true},
		{"allowed origin on a 500 (no principal)", fixedMeter{}, nil, map[string]string{"Origin": consoleOrigin}, 500, consoleOrigin, true},
		{"disallowed origin gets no Allow-Origin", fixedMeter{q: quota}, keyCtx, map[string]string{"Origin": "https://evil.example.com"}, 200, "", true},
		{"a look-alike origin is not allowed", fixedMeter{q: quota}, keyCtx, map[string]string{"Origin": consoleOrigin + ".evil.example.com"}, 200, "", true},
		{"no Origin (curl) gets no CORS headers", fixedMeter{q: quota}, jwtCtx, nil, 200, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event(tt.auth, "")
			ev.Headers = tt.headers
			resp, err := lambdahttp.WithCORS(lambdahttp.Adapter(okHandler, lambdahttp.Options{Meter: tt.meter, Log: log, Clock: clock.NewFixed(now)}), cors)(context.Background(), ev)
			if err != nil || resp.StatusCode != tt.status {
				t.Fatalf("%d %v, want %d", resp.StatusCode, err, tt.status)
			}
			h := resp.Headers
			if got := h["Access-Control-Allow-Origin"]; got != tt.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			wantExpose := ""
			if tt.wantOrigin != "" {
				wantExpose = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"
			}
			if got := h["Access-Control-Expose-Headers"]; got != wantExpose {
				t.Errorf("Access-Control-Expose-Headers = %q, want %q", got, wantExpose)
			}
			if (h["Vary"] == "Origin") != tt.wantVary {
				t.Errorf("Vary = %q, want Origin: %v", h["Vary"], tt.wantVary)
			}
			if _, ok := h["Access-Control-Allow-Credentials"]; ok {
				t.Error("Access-Control-Allow-Credentials sent; the API uses no cookies")
			}
			if tt.status == 429 && h["Retry-After"] == "" {
				t.Error("429 lost its Retry-After")
			}
		})
	}
}

func TestPreflightHeaders(t *testing.T) {
	cors := lambdahttp.NewCORS([]string{consoleOrigin})
	h := cors.PreflightHeaders(consoleOrigin, []string{"GET", "POST"})
	want := map[string]string{
		"Access-Control-Allow-Origin":   consoleOrigin,
		"Access-Control-Allow-Methods":  "GET, POST, OPTIONS",
		"Access-Control-Allow-Headers":  "Authorization, Content-Type, X-Workspace-ID",
		"Access-Control-Expose-Headers": "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After",
		"Access-Control-Max-Age":        "600",
		"Vary":                          "Origin",
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("%s = %q, want %q", k, h[k], v)
		}
	}
	if h := cors.PreflightHeaders("https://evil.example.com", []string{"GET"}); h["Access-Control-Allow-Origin"] != "" || h["Access-Control-Allow-Methods"] != "" {
		t.Errorf("disallowed origin got %v", h)
	}
	var none *lambdahttp.CORS
	if none.Allowed(consoleOrigin) {
		t.Error("a nil CORS allows nothing")
	}
}
