package browser

import "testing"

// TestRestrictedKeySaysSo: a key limited to some scopes and networks (made
// with the API) says so on its card; a key with its owner's full access
// shows no such line.
func TestRestrictedKeySaysSo(t *testing.T) {
	e := browserEnv(t)
	_, id := signInTokens(t, e, "pro@example.com")
	// A scope of this deployment, if it has any besides keygate's own.
	status, _, m := callAPI(t, e, "GET", "/v1/scopes", id, "")
	if status != 200 {
		t.Fatalf("scopes: %d %v", status, m)
	}
	scopes := m["data"].(map[string]any)["scopes"].([]any)
	if len(scopes) == 0 {
		t.Fatal("GET /v1/scopes lists no scope")
	}
	scope := scopes[0].(map[string]any)["name"].(string)
	status, _, m = callAPI(t, e, "POST", "/v1/api-keys", id, `{"name":"Limited key","scopes":[`+jsString(scope)+`],"allowedIps":["203.0.113.0/24"]}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, m)
	}
	prefix := m["data"].(map[string]any)["prefix"].(string)
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	want := "Limited to " + scope + "; only from 203.0.113.0/24."
	if got := tb.waitText(card(prefix)+" [data-testid=access]", "Limited to"); got != want {
		t.Errorf("the card says %q, want %q", got, want)
	}
	full := tb.createKey("Full access", "")
	tb.waitText(card(full[:17])+" .badge", "Active")
	if tb.exists(card(full[:17]) + " [data-testid=access]") {
		t.Error("a key with full access shows an access line")
	}
}
