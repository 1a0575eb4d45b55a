package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/examples/reports"
	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
)

// The tests here walk the paths whose AWS calls no other test is sure to
// make, so that the recording the suite commits (operationsFile: what each
// Lambda's role must grant) holds every call each function can make.

// TestMeterOnEveryRoute takes a key through every path of the meter on each
// route behind the authorizer, keygate's and the example product's, read from
// their route tables: a day's first request (the conditional write), the
// request past the limit (the write refused, then the consistent read that
// says why: 429), and the next day's first request (the day rolled over and
// the old one archived). An unmetered route checks the key with one read and
// counts nothing.
func TestMeterOnEveryRoute(t *testing.T) {
	day := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(day)
	p := &product{}
	s := testenv.Stack(t, testenv.Options{Clock: clk, Product: p.routes()})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "meter-walk", Tier: "pro"})

	routes := append(route.Table{}, route.Keygate...)
	routes = append(routes, reports.Routes...)
	for _, rt := range routes {
		if rt.Public {
			continue
		}
		t.Run(rt.Name(), func(t *testing.T) {
			clk.Set(day)
			key, prefix := c.CreateKey(tok, map[string]any{"name": rt.Name(), "dailyLimit": rt.Units()})
			path := strings.NewReplacer("{prefix}", prefix, "{id}", wsID, "{keyId}", "550e8400-e29b-41d4-a716-446655440000").Replace(rt.Path)
			var body any
			if rt.Method == "POST" || rt.Method == "PATCH" {
				body = map[string]any{}
			}
			send := func() testenv.Response { return c.Do(rt.Method, path, testenv.Bearer(key), body) }

			first := send()
			if first.Status == 401 || first.Status == 429 || first.Status >= 500 {
				t.Fatalf("first request: %d %s", first.Status, first.Body)
			}
			if !rt.Metered() {
				if r := send(); r.Status == 429 || r.Header.Get("X-RateLimit-Remaining") != "1" {
					t.Fatalf("an unmetered route counted: %d, remaining %q", r.Status, r.Header.Get("X-RateLimit-Remaining"))
				}
				return
			}
			// The key's limit is the route's cost: one request spends it.
			if got := first.Header.Get("X-RateLimit-Remaining"); got != "0" {
				t.Fatalf("first request left %q, want 0", got)
			}
			testenv.Must(t, send(), 429, "RateLimitExceeded")
			clk.Set(day.Add(24 * time.Hour))
			if r := send(); r.Status == 429 || r.Header.Get("X-RateLimit-Remaining") != "0" {
				t.Fatalf("the next day's first request: %d, remaining %q: %s", r.Status, r.Header.Get("X-RateLimit-Remaining"), r.Body)
			}
		})
	}
}

// TestExpiredKeysGiveTheirSlotsBack: nothing writes when a key expires, so
// the active-key counter still counts it; at the cap, a create finds the
// counter full, recounts the owner's live keys from the byOwner index and
// mends it (once the counter has been still for a minute). Personal and
// workspace keys alike.
func TestExpiredKeysGiveTheirSlotsBack(t *testing.T) {
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(start)
	s := testenv.Stack(t, testenv.Options{Clock: clk, Env: map[string]string{
		config.EnvMaxActiveKeys: "1", config.EnvMaxWorkspaceKeys: "1"}})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: aliceID, Tier: "team", TeamID: wsID, TTL: 24 * time.Hour})

	for _, surface := range []struct {
		name, path, expiresField string
		check                    func(testing.TB, testenv.Response, int, string)
	}{
		{"personal", "/v1/api-keys", "expiresAt", testenv.Must},
		{"workspace", wsPath(wsID), "expires_at", testenv.MustBare},
	} {
		t.Run(surface.name, func(t *testing.T) {
			clk.Set(start)
			create := func() testenv.Response {
				expires := clk.Now().Add(time.Hour).Format(time.RFC3339)
				return c.Do("POST", surface.path, testenv.Bearer(tok), map[string]any{"name": "short-lived", surface.expiresField: expires})
			}
			surface.check(t, create(), 201, "")
			surface.check(t, create(), 403, "Forbidden") // at the cap of 1
			clk.Set(start.Add(time.Hour + testKeysSlotQuiet))
			surface.check(t, create(), 201, "")
			surface.check(t, create(), 403, "Forbidden") // the new key holds the slot
		})
	}
}

// testKeysSlotQuiet is past expiry plus keys.SlotRepairQuiet (a minute).
const testKeysSlotQuiet = 2 * time.Minute
