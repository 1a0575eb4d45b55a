package gateway

import (
	"bufio"
	"errors"
	"net"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"

	"github.com/keygate/keygate/shared/lambdahttp"
)

const console = "http://127.0.0.1:8082"

// rawHeaders sends a request over a plain TCP connection and returns the
// status line and the header lines exactly as they came over the wire (Go's
// client would canonicalise the names).
func rawHeaders(t *testing.T, srv *httptest.Server, method, path string, headers ...string) (string, []string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + strings.Join(headers, "\r\n")
	if len(headers) > 0 {
		req += "\r\n"
	}
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	r := textproto.NewReader(bufio.NewReader(c))
	status, err := r.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for {
		l, err := r.ReadLine()
		if err != nil && !errors.Is(err, net.ErrClosed) {
			t.Fatal(err)
		}
		if l == "" {
			return status, lines
		}
		lines = append(lines, l)
	}
}

func has(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func hasName(lines []string, name string) bool {
	for _, l := range lines {
		if strings.HasPrefix(strings.ToLower(l), strings.ToLower(name)+":") {
			return true
		}
	}
	return false
}

func TestWithCORS(t *testing.T) {
	h := newHarness(&authorizerStub{res: allowAll()})
	h.route.resp.Headers["X-RateLimit-Limit"] = "250"
	h.route.resp.Headers["X-RateLimit-Remaining"] = "249"
	h.route.resp.Headers["X-RateLimit-Reset"] = "1795651200"
	cors := lambdahttp.NewCORS([]string{console})
	srv := httptest.NewServer(WithCORS(h.gw, cors))
	defer srv.Close()
	allowOrigin := "Access-Control-Allow-Origin: " + console
	expose := "Access-Control-Expose-Headers: X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"

	t.Run("preflight needs no credential and never reaches the authorizer", func(t *testing.T) {
		before := h.auth.called()
		status, lines := rawHeaders(t, srv, "OPTIONS", "/v1/api-keys/csk_live_12345678",
			"Origin: "+console, "Access-Control-Request-Method: PATCH", "Access-Control-Request-Headers: authorization, content-type")
		if !strings.Contains(status, "204") {
			t.Fatalf("status %q", status)
		}
		for _, want := range []string{allowOrigin, "Access-Control-Allow-Methods: PATCH, DELETE, OPTIONS",
			"Access-Control-Allow-Headers: Authorization, Content-Type, X-Workspace-ID", "Vary: Origin"} {
			if !has(lines, want) {
				t.Errorf("missing %q in %q", want, lines)
			}
		}
		if h.auth.called() != before {
			t.Error("preflight called the authorizer")
		}
	})
	t.Run("preflight from a disallowed origin gets no Allow-Origin", func(t *testing.T) {
		_, lines := rawHeaders(t, srv, "OPTIONS", "/v1/api-keys", "Origin: https://evil.example.com", "Access-Control-Request-Method: POST")
		if hasName(lines, "Access-Control-Allow-Origin") || hasName(lines, "Access-Control-Allow-Methods") {
			t.Errorf("disallowed origin got CORS grants: %q", lines)
		}
	})
	t.Run("preflight of an unknown path is the 404 envelope, with CORS", func(t *testing.T) {
		status, lines := rawHeaders(t, srv, "OPTIONS", "/v2/nothing", "Origin: "+console)
		if !strings.Contains(status, "404") || !has(lines, allowOrigin) {
			t.Errorf("%q %q", status, lines)
		}
	})
	t.Run("integration response: rate-limit header names exactly as written, CORS on it", func(t *testing.T) {
		status, lines := rawHeaders(t, srv, "GET", "/v1/api-keys", "Origin: "+console, "Authorization: Bearer x")
		if !strings.Contains(status, "200") {
			t.Fatalf("status %q", status)
		}
		for _, want := range []string{"X-RateLimit-Limit: 250", "X-RateLimit-Remaining: 249", "X-RateLimit-Reset: 1795651200", allowOrigin, expose} {
			if !has(lines, want) {
				t.Errorf("missing %q in %q", want, lines)
			}
		}
	})
	gatewayErrors := []struct {
		name, method, path string
		headers            []string
		status             string
	}{
		{"401 for a missing credential", "GET", "/v1/api-keys", nil, "401"},
		{"404 for an unknown route", "GET", "/v1/nothing", []string{"Authorization: Bearer x"}, "404"},
	}
	for _, tt := range gatewayErrors {
		t.Run("gateway-made "+tt.name+" carries CORS for an allowed origin", func(t *testing.T) {
			status, lines := rawHeaders(t, srv, tt.method, tt.path, append(tt.headers, "Origin: "+console)...)
			if !strings.Contains(status, tt.status) || !has(lines, allowOrigin) || !has(lines, expose) {
				t.Errorf("%q %q", status, lines)
			}
		})
	}
	t.Run("a disallowed origin gets no Allow-Origin on an actual request", func(t *testing.T) {
		_, lines := rawHeaders(t, srv, "GET", "/v1/api-keys", "Origin: https://evil.example.com", "Authorization: Bearer x")
		if hasName(lines, "Access-Control-Allow-Origin") || !has(lines, "Vary: Origin") {
			t.Errorf("%q", lines)
		}
	})
	t.Run("no Origin, no CORS headers", func(t *testing.T) {
		_, lines := rawHeaders(t, srv, "GET", "/v1/api-keys", "Authorization: Bearer x")
		if hasName(lines, "Access-Control-Allow-Origin") || hasName(lines, "Vary") {
			t.Errorf("%q", lines)
		}
	})
}
