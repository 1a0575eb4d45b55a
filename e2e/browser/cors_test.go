package browser

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestCORSHeaders checks the contract's Browsers section over HTTP.
func TestCORSHeaders(t *testing.T) {
	e := stack(t)
	console := e.stack.ConsoleURL
	_, id := signInTokens(t, e, "pro@example.com")
	expose := "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"
	do := func(method, path, origin, auth string, extra ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, e.stack.API.URL+path, nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			req.Header.Set(extra[i], extra[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	t.Run("preflight from the console's origin, no credential", func(t *testing.T) {
		resp := do("OPTIONS", "/v1/api-keys", console, "",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
		h := resp.Header
		if resp.StatusCode/100 != 2 || h.Get("Access-Control-Allow-Origin") != console ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			h.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, X-Workspace-ID" {
			t.Fatalf("%d %v", resp.StatusCode, h)
		}
	})
	t.Run("actual call from the console's origin", func(t *testing.T) {
		resp := do("GET", "/v1/api-keys", console, id)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != console || resp.Header.Get("Access-Control-Expose-Headers") != expose {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("gateway-made 401 carries CORS for the console", func(t *testing.T) {
		resp := do("GET", "/v1/api-keys", console, "")
		if resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") != console || resp.Header.Get("Access-Control-Expose-Headers") != expose {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("a disallowed origin gets no Access-Control-Allow-Origin", func(t *testing.T) {
		for _, method := range []string{"OPTIONS", "GET"} {
			resp := do(method, "/v1/api-keys", "https://evil.example.com", id, "Access-Control-Request-Method", "GET")
			if v := resp.Header.Values("Access-Control-Allow-Origin"); len(v) != 0 {
				t.Errorf("%s: Access-Control-Allow-Origin %q", method, v)
			}
		}
	})
}

// TestCrossOriginInBrowser: a page on the console's origin can read the API's
// answer and its rate-limit headers; a page on any other origin cannot.
func TestCrossOriginInBrowser(t *testing.T) {
	e := browserEnv(t)
	_, id := signInTokens(t, e, "pro@example.com")
	status, _, m := callAPI(t, e, "POST", "/v1/api-keys", id, `{"name":"CORS probe"}`)
	if status != 201 {
		t.Fatalf("create key: %d %v", status, m)
	}
	key := m["data"].(map[string]any)["key"].(string)
	probe := fmt.Sprintf(`fetch(%q + "/v1/usage", {headers: {Authorization: "Bearer " + %q}})
		.then(r => r.status + " " + r.headers.get("X-RateLimit-Remaining"), err => "blocked: " + err.name)`, e.stack.API.URL, key)

	console := newTab(t, e)
	console.do(chromedp.Navigate(e.stack.ConsoleURL))
	if got := eval[string](console, probe); !strings.HasPrefix(got, "200 ") || strings.HasSuffix(got, " null") {
		t.Errorf("from the console's origin: %q, want 200 and a readable X-RateLimit-Remaining", got)
	}

	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>another site</title>")
	}))
	defer other.Close()
	stranger := newTab(t, e)
	stranger.do(chromedp.Navigate(other.URL))
	if got := eval[string](stranger, probe); got != "blocked: TypeError" {
		t.Errorf("from another origin: %q, want the browser to block it", got)
	}
}
